"""``edoc dead-letters list|requeue ID``: the messages the bus gave up on, and putting one back
(service/exchange/dead_letters.py; the same for the ``db://`` and ``amqp://`` buses)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from service.cli_output import fail, out

__all__ = ["register"]


def register(app: typer.Typer, gateway: Callable[[], Any]) -> None:
    """Add ``edoc dead-letters`` to the application; ``gateway()`` builds the node's gateway (service/cli.py)."""
    group = typer.Typer(help="Dead letters: messages the bus gave up on.", no_args_is_help=True)

    @group.command("list")
    def list_(
        limit: Annotated[int, typer.Option(min=1, max=500, help="how many, the latest death first")] = 50,
        offset: Annotated[int, typer.Option(min=0)] = 0,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List the dead letters: topic, attempts, last error, time of death."""
        from service.exchange.dead_letters import list_dead_letters

        gw = gateway()
        with gw.sessions() as session:
            page = list_dead_letters(session, offset=offset, limit=limit)
        if as_json:
            sys.stdout.write(json.dumps(page.items, ensure_ascii=False, indent=2) + "\n")
            return
        table = Table("id", "topic", "attempts", "dead at (UTC)", "last error", "payload",
                      title=f"{page.total} dead letter(s)")
        for item in page.items:
            table.add_row(str(item["id"]), item["topic"], str(item["attempts"]), item["dead_at"][:19],
                          _one_line(item["last_error"]), json.dumps(item["payload"], ensure_ascii=False))
        out.print(table)

    @group.command("requeue")
    def requeue(
        message_id: Annotated[int, typer.Argument(help="the dead letter's id (edoc dead-letters list)")],
    ) -> None:
        """Make a dead letter due again, with a fresh retry schedule."""
        from service.exchange.dead_letters import requeue_dead_letter
        from service.exchange.errors import ExchangeError

        gw = gateway()
        try:
            with gw.writes() as session, session.begin():
                requeue_dead_letter(session, message_id, actor="edoc-cli")
        except ExchangeError as exc:
            fail(str(exc))
        out.print(f"dead letter {message_id}: requeued", highlight=False)

    app.add_typer(group, name="dead-letters")


def _one_line(error: str | None, width: int = 100) -> str:
    line = (error or "").splitlines()[0] if error else ""
    return line if len(line) <= width else line[: width - 1] + "…"
