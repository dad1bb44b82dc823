"""HTML parse mode as Telegram implements it: entities in UTF-16 units and its error messages."""

from __future__ import annotations

import pytest

from bot.emulator.entities import (
    EntityParseError,
    UnsupportedParseMode,
    detect_entities,
    format_text,
    parse_html,
    trim,
    utf16_len,
)


def test_supported_tags_become_entities():
    text, entities = parse_html(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler>'
        '<a href="https://example.org/x">l</a><code>c</code><pre>p</pre><blockquote>q</blockquote>'
        "<blockquote expandable>x</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert text == "bsieunskdpqlcpqx👍"
    kinds = [(e["type"], e["offset"], e["length"]) for e in entities]
    assert kinds == [
        ("bold", 0, 1),
        ("bold", 1, 1),
        ("italic", 2, 1),
        ("italic", 3, 1),
        ("underline", 4, 1),
        ("underline", 5, 1),
        ("strikethrough", 6, 1),
        ("strikethrough", 7, 1),
        ("strikethrough", 8, 1),
        ("spoiler", 9, 1),
        ("spoiler", 10, 1),
        ("text_link", 11, 1),
        ("code", 12, 1),
        ("pre", 13, 1),
        ("blockquote", 14, 1),
        ("expandable_blockquote", 15, 1),
        ("custom_emoji", 16, 2),
    ]
    assert entities[11]["url"] == "https://example.org/x"
    assert entities[-1]["custom_emoji_id"] == "5368324170671202286"


def test_offsets_are_utf16_code_units():
    # 😀 is outside the BMP: two UTF-16 units; Vietnamese letters are one each.
    text, entities = parse_html("😀 <b>Phường</b> 😀<i>x</i>")
    assert text == "😀 Phường 😀x"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 6},
        {"type": "italic", "offset": 12, "length": 1},
    ]
    assert utf16_len(text) == 13


def test_html_entities_are_decoded():
    text, entities = parse_html("&lt;b&gt; &amp; &quot;q&quot; &#39;&#x41; &nbsp; AT&T")
    assert text == '<b> & "q" \'A &nbsp; AT&T'
    assert entities == []


def test_pre_with_code_language_and_nested_rules():
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    # Formatting inside code is dropped, as Telegram does.
    _, entities = parse_html("<code>a<b>b</b></code>")
    assert entities == [{"type": "code", "offset": 0, "length": 2}]


def test_links_are_normalised_or_dropped():
    _, entities = parse_html('<a href="example.com">x</a><a href="javascript:alert(1)">y</a>')
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 1, "url": "http://example.com/"}
    ]
    _, entities = parse_html(
        '<a href="tg://user?id=42">An</a>',
        resolve_user=lambda uid: {"id": uid, "is_bot": False, "first_name": "An"},
    )
    assert entities[0]["type"] == "text_mention" and entities[0]["user"]["id"] == 42


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Phường <b", "Unclosed start tag at byte offset 10"),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
    ],
)
def test_bad_markup_is_refused_like_telegram(markup: str, message: str):
    with pytest.raises(EntityParseError) as error:
        parse_html(markup)
    assert str(error.value) == message


def test_trim_keeps_entities_aligned():
    text, entities = trim("  \n<x>  ", [{"type": "bold", "offset": 1, "length": 5}])
    assert text == "<x>"
    assert entities == [{"type": "bold", "offset": 0, "length": 3}]


def test_automatic_entities():
    text = "/start@phuong_bot hi @an_nguyen #họp_tổ https://ward.example/a?b=1. mail@ex.vn"
    found = detect_entities(text, [])
    assert [(e["type"], text[e["offset"] : e["offset"] + e["length"]]) for e in found] == [
        ("bot_command", "/start@phuong_bot"),
        ("mention", "@an_nguyen"),
        ("hashtag", "#họp_tổ"),
        ("url", "https://ward.example/a?b=1"),
        ("email", "mail@ex.vn"),
    ]
    # Nothing is detected inside code.
    assert detect_entities("/x", [{"type": "code", "offset": 0, "length": 2}]) == [
        {"type": "code", "offset": 0, "length": 2}
    ]


def test_format_text_pipeline():
    assert format_text("  <b>hi</b> /help ", "HTML", None) == (
        "hi /help",
        [
            {"type": "bold", "offset": 0, "length": 2},
            {"type": "bot_command", "offset": 3, "length": 5},
        ],
    )
    assert format_text("<b>raw</b>", None, None) == ("<b>raw</b>", [])
    explicit = [
        {"type": "italic", "offset": 0, "length": 99},
        {"type": "bold", "offset": 50, "length": 1},
    ]
    assert format_text("abc", None, explicit) == (
        "abc",
        [{"type": "italic", "offset": 0, "length": 3}],
    )
    with pytest.raises(UnsupportedParseMode):
        format_text("*x*", "MarkdownV2", None)
