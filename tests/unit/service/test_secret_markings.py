"""Secret markings (Mật, Tối mật, Tuyệt mật; STANDARDS.md §1) are matched case- and diacritic-insensitively, as whole
phrases: a DMS that writes "MAT" or "Toi mat" still marks a secret document, while "Bảo mật" (security) or a word
that merely contains "mat" does not."""

from __future__ import annotations

import pytest

from service.exchange.errors import Refused
from service.exchange.policy import check_not_secret, is_secret_marking
from service.settings import Settings

MARKINGS = Settings().secret_markings


@pytest.mark.parametrize(
    "value",
    ["Mật", "mật", "MẬT", "Mat", "MAT", "mat", " Mật ", "Mật.", "(Mật)", "Tối mật", "TỐI MẬT", "Toi mat", "toi  MAT",
     "Tuyệt mật", "TUYET MAT", "Tuyet-mat", "M\u0061\u0323\u0302t",  # decomposed (NFD) "Mật"
     "Tối mật", "Đ" * 0 + "Mật"],
)
def test_secret_markings_are_refused_whatever_their_case_and_accents(value: str) -> None:
    assert is_secret_marking(value, MARKINGS)
    with pytest.raises(Refused) as caught:
        check_not_secret([None, value], MARKINGS)
    assert caught.value.code == "secret_document"


@pytest.mark.parametrize(
    "value",
    ["Bảo mật", "bao mat", "Bảo mật thông tin", "Mật khẩu", "Mát", "Matxcova", "Format", "Thường", "Lưu hành nội bộ",
     "Liên thông văn bản quốc gia", "Tối", "Tuyệt", "Mật Mật", "Không mật", "", "   "],
)
def test_words_that_merely_contain_a_marking_are_not_secret(value: str) -> None:
    assert not is_secret_marking(value, MARKINGS)
    check_not_secret([value, None], MARKINGS)


def test_configured_markings_are_normalised_too() -> None:
    assert is_secret_marking("han che", ("Hạn chế",))
    assert not is_secret_marking("Mật", ("Hạn chế",))
