"""html_to_text() on the HTML mails in tests/data/html, on garbage, and on huge input."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.mail.htmltext import MAX_HTML_CHARS, html_to_text

DATA_DIR = Path(__file__).parents[2] / "data" / "html"

# (fixture, substrings the text must contain, substrings it must not contain)
EXPECTATIONS: list[tuple[str, list[str], list[str]]] = [
    (
        "outlook_word",
        [
            'O relatório de vendas de outubro não está abrindo no portal. Aparece a mensagem "Erro',
            "Passos que já tentei:",
            "* Limpar o cache do navegador",
            "* Usar outro computador",
            "Atenciosamente,\nRoberto Lima\nGerente de TI | Empresa Exemplo Ltda.",
            "Bom dia,\n\nO relatório",
            "De: Suporte Acme <suporte@acme.example>\nEnviada em: segunda-feira",
        ],
        ["font-family", "MsoNormal", "mso-", "&nbsp;", "&oacute;", "shapedefaults", "WordSection"],
    ),
    (
        "gmail",
        [
            "Hi team,\n\nThe export to CSV fails",
            "more than 10 000 rows",
            "See the incident page (https://status.acme.example/incidents/42).",
            "1. Open Reports",
            '2. Click "Export"',
            "Thanks,\nJohn",
            "Acme Support <support@acme.example> wrote:",
            "Which export format are you using?",
        ],
        ["mailto:", "<div", "&quot;", "gmail_quote", "**"],
    ),
    (
        "newsletter_tables",
        [
            "Your November order summary",
            "Hello Maria,\nhere is what you ordered this month:",
            "View your order (https://shop.acme.example/orders/991?utm_source=newsletter)",
            "* Free shipping over $50",
            "Unsubscribe (https://acme.example/unsubscribe?u=abc)",
        ],
        ["Acme November update", "@media", "open.gif", "background:", "logo.png"],
    ),
    (
        "malformed",
        [
            "First paragraph with bold and italic text",
            "Second paragraph & unterminated entity © 2026",
            "3 < 5 > 2",
            "cell one",
            "cell three",
            "link text",
            "After the broken link",
            "Tail text",
            "outside body",
        ],
        ["<b>", "<td", "<p>", "&amp"],
    ),
    (
        "script_style",
        [
            "Visible message: the invoice total is R$ 1.234,56.",
            "Second line — with an em dash and café.",
        ],
        ["SHOULD NOT APPEAR", "Enable JavaScript", "color: red", "alert(", "written"],
    ),
    (
        "pt_entities_lists",
        [
            "Olá João,",
            "Segue a lista de pendências da migração:",
            "1. Importar clientes & fornecedores",
            "2. Validar CNPJ (é obrigatório)",
            "3. Conferir tabela de preços",
            "Preço à vista",
            "Linha 1\nLinha 2\nLinha 3",
            "Citação do cliente",
            "  codigo   indentado\n    mantido",
            "nossa central de ajuda (https://ajuda.acme.example/migracao)",
            "ou suporte@acme.example.",
        ],
        ["mailto:", "&ccedil;", "&#233;", "<li>"],
    ),
]


def _render(name: str) -> str:
    return html_to_text((DATA_DIR / f"{name}.html").read_text(encoding="utf-8"))


def test_every_fixture_has_expectations() -> None:
    names = sorted(path.stem for path in DATA_DIR.glob("*.html"))
    assert names == sorted(name for name, _, _ in EXPECTATIONS)


@pytest.mark.parametrize(("name", "present", "absent"), EXPECTATIONS)
def test_fixture_text(name: str, present: list[str], absent: list[str]) -> None:
    text = _render(name)
    assert [snippet for snippet in present if snippet not in text] == []
    assert [snippet for snippet in absent if snippet in text] == []


@pytest.mark.parametrize(("name", "present", "absent"), EXPECTATIONS)
def test_fixture_text_is_tidy(name: str, present: list[str], absent: list[str]) -> None:
    text = _render(name)
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert "\xa0" not in text
    assert [line for line in text.splitlines() if line != line.rstrip()] == []


def test_data_table_rows_stay_on_one_line() -> None:
    lines = _render("newsletter_tables").splitlines()
    rows = [line.split() for line in lines if line.startswith(("Product", "Blue", "Red"))]
    assert rows == [
        ["Product", "Qty", "Price"],
        ["Blue", "widget", "2", "$10.00"],
        ["Red", "gadget", "1", "$25.50"],
    ]


def test_nested_list_is_indented_below_its_parent() -> None:
    lines = _render("pt_entities_lists").splitlines()
    parent = next(line for line in lines if "Conferir tabela" in line)
    child = next(line for line in lines if "Preço à vista" in line)
    assert len(child) - len(child.lstrip()) > len(parent) - len(parent.lstrip())


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a href="https://example.com/docs">the docs</a>', "the docs (https://example.com/docs)"),
        ('<a href="https://example.com/">https://example.com</a>', "https://example.com"),
        ('<a href="mailto:ana@example.com">Ana</a>', "Ana (ana@example.com)"),
        ('<a href="mailto:ana@example.com">ana@example.com</a>', "ana@example.com"),
        ('<a href="javascript:void(0)">click</a>', "click"),
        ('<a href="#top">top</a>', "top"),
    ],
)
def test_links(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<",
        "<<<>>>",
        "<!-- only a comment -->",
        "</p></div></table>",
        "a\x00b\x01c",
        "x\ud800y",
        "<table><tr><td>" * 300,
        "<div>" * 5000 + "deep" + "</div>" * 5000,
        "<?xml version='1.0'?><html><body>x</body></html>",
        "<p>&#0;&#xD800;&#99999999;&bogus;</p>",
        "<![CDATA[ x ]]><svg><script>y</script></svg>",
    ],
)
def test_garbage_never_raises(html: str) -> None:
    assert isinstance(html_to_text(html), str)


def test_control_characters_do_not_lose_text() -> None:
    assert html_to_text("<p>a\x00b</p><p>x\ud800y</p>") == "ab\n\nxy"


def test_data_uri_payload_is_skipped_not_truncating_the_text() -> None:
    html = '<p>before</p><img src="data:image/png;base64,' + "A" * (2 * MAX_HTML_CHARS) + '">'
    assert html_to_text(html + "<p>after</p>") == "before\n\nafter"


def test_huge_input_is_cut_to_a_bounded_size() -> None:
    text = html_to_text("<p>word</p>" * (MAX_HTML_CHARS // 5))
    assert text.startswith("word\n\nword")
    assert len(text) <= MAX_HTML_CHARS


@pytest.mark.parametrize(
    "tall_cell",
    ["x<br>" * 2_000, '<span style="display:block">x</span>' * 2_000, "<pre>" + "x\n" * 2_000],
)
def test_table_grid_cannot_blow_up_the_output(tall_cell: str) -> None:
    # One very long cell next to a cell with many lines would pad every line to the width.
    long_cell = "word " * 20_000
    html = f"<table><tr><td>{long_cell}</td><td>{tall_cell}</td></tr></table>"
    text = html_to_text(html)
    assert len(text) <= 2 * len(html)
    assert "word word" in text
