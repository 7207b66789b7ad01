"""Routing table from settings, peer-node authorisation, sealed VXP secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.exchange.directory import seal_secret, unseal_secret
from service.exchange.errors import Invalid
from service.routing import Router
from service.settings import Settings
from service.vxp.systems import PeerCaller

UPLINK = {"endpoint": "http://127.0.0.1:9/vxp", "systemid": "lgsp.h53", "secret": "s"}


def test_first_matching_rule_wins_then_the_default() -> None:
    settings = Settings(uplinks={"axis": UPLINK, "g22": UPLINK}, default_route="axis",
                        routes=[{"pattern": "000.00.00.G22", "target": "g22"}, {"pattern": "*.G22", "target": "axis"},
                                {"pattern": "*.H53", "target": "local"}])
    router = Router.from_table([(r.pattern, r.target) for r in settings.routes], settings.default_route)
    assert router.resolve("000.00.00.G22") == "g22"
    assert router.resolve("000.00.18.G22") == "axis"
    assert router.resolve("000.00.11.H53") == "local"
    assert router.resolve("000.00.00.G12") == "axis"


def test_a_route_to_an_unknown_uplink_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="neither 'local' nor a configured uplink"):
        Settings(routes=[{"pattern": "*.G22", "target": "axis"}])


def test_production_wants_https_uplinks() -> None:
    from service.settings import ConfigError

    settings = Settings(environment="production", uplinks={"axis": UPLINK}, secret_key="x" * 40,
                        database_url="postgresql+psycopg://db/edoc", storage_url="s3://bucket",
                        node_key_file="/keys/node.p12")
    with pytest.raises(ConfigError, match="uplink axis is not reached over https"):
        settings.check_production()


def test_a_peer_acts_only_for_agencies_routed_to_it_or_linked_to_it() -> None:
    router = Router.from_table([("*.G22", "node2"), ("*.G12", "axis")])
    peer = PeerCaller("id", "node2", "node", frozenset({"000.00.01.A53"}), route="node2", router=lambda: router)
    assert peer.may_act_for("000.00.00.G22")  # routed to node2
    assert peer.may_act_for("000.00.01.A53")  # explicitly linked
    assert not peer.may_act_for("000.00.11.H53")  # served here
    assert not peer.may_act_for("000.00.00.G12")  # served through another uplink
    assert not peer.may_act_for("28.22.H17")  # malformed


def test_secrets_are_sealed_recoverably_and_only_under_the_same_key() -> None:
    sealed = seal_secret("k" * 32, "bí-mật-02")
    assert "bí-mật-02" not in sealed and sealed != seal_secret("k" * 32, "bí-mật-02")  # randomised
    assert unseal_secret("k" * 32, sealed) == "bí-mật-02"
    with pytest.raises(Invalid) as info:
        unseal_secret("another key", sealed)
    assert info.value.code == "secret_unreadable"
