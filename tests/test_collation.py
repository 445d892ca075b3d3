"""Swedish sort order for names in reports."""

from __future__ import annotations

from preserveplan.collation import swedish_key

DALARNA = [
    "Avesta", "Borlänge", "Falun", "Gagnef", "Hedemora", "Leksand", "Ludvika", "Malung-Sälen",
    "Mora", "Orsa", "Rättvik", "Smedjebacken", "Säter", "Vansbro", "Älvdalen",
]  # fmt: skip


def test_dalarna_municipalities_in_swedish_order() -> None:
    assert sorted(reversed(DALARNA), key=swedish_key) == DALARNA


def test_a_ring_before_a_umlaut_before_o_umlaut_after_z() -> None:
    words = ["Ödeshög", "Zinkgruvan", "Älmhult", "Åre", "åsele", "Övertorneå", "ärla", "Ystad"]
    assert sorted(words, key=swedish_key) == [
        "Ystad", "Zinkgruvan", "Åre", "åsele", "Älmhult", "ärla", "Ödeshög", "Övertorneå",
    ]  # fmt: skip
    assert sorted(words) != sorted(words, key=swedish_key), "code-point order differs"


def test_accents_and_danish_norwegian_letters() -> None:
    assert sorted(["Eskilstuna", "Émile", "Enköping"], key=swedish_key) == [
        "Émile", "Enköping", "Eskilstuna",
    ]  # fmt: skip
    assert sorted(["Ørsta", "Ösmo", "Ærø", "Zürich"], key=swedish_key)[0] == "Zürich"
    assert swedish_key("Müller")[0] == swedish_key("Myller")[0]
