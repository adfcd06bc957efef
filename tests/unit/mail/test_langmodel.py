"""The language model mapped from its cache file answers as the library's own loading does."""

from __future__ import annotations

from pathlib import Path

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from mailtickets.mail import langmodel

TEXTS = [
    "Bonjour, je voudrais savoir pourquoi ma commande est toujours en retard",
    "Hello, my order has not arrived yet and nobody answers the phone",
    "Olá, gostaria de saber quando o meu pedido vai chegar, obrigado",
    "Hallo, ich habe eine Frage zu meiner letzten Rechnung vom März",
    "Buongiorno, vorrei sapere perché il mio ordine non è ancora arrivato",
    "ok",
]


def test_mapped_model_classifies_as_the_library_does(tmp_path: Path) -> None:
    loaded = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    mapped = langmodel.identifier(tmp_path)
    assert [mapped.classify(t) for t in TEXTS] == [loaded.classify(t) for t in TEXTS]


def test_the_cache_file_is_made_once_and_reused(tmp_path: Path) -> None:
    langmodel.identifier(tmp_path)
    (made,) = tmp_path.iterdir()
    written = made.stat().st_mtime_ns
    assert langmodel.identifier(tmp_path).classify(TEXTS[0])[0] == "fr"
    assert list(tmp_path.iterdir()) == [made]
    assert made.stat().st_mtime_ns == written
