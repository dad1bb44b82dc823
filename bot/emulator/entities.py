"""Message formatting as Telegram does it: HTML parse mode, trimming, automatic entities.

All offsets and lengths are UTF-16 code units over the resulting plain text, as the Bot API
requires; Python strings index code points, so conversions happen at the edges.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

Entity = dict[str, Any]
UserResolver = Callable[[int], dict[str, Any] | None]


class EntityParseError(ValueError):
    """Markup that Telegram would refuse with "can't parse entities"."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
# Telegram's parser treats only these as blanks inside tags.
_TAG_SPACE = " \t\r\n\v\f"
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_ENTITY_REF = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,8})|#([0-9]{1,10})|([a-zA-Z]{2,4}));")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports positions in UTF-8 bytes of the original markup.
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, index: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``index``; None means the ampersand stays literal, as on Telegram."""
    match = _ENTITY_REF.match(text, index)
    if match is None:
        return None
    hex_code, dec_code, name = match.groups()
    if name is not None:
        value = _NAMED_ENTITIES.get(name)
        if value is None:
            return None
        return value, match.end()
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


class _OpenTag:
    __slots__ = ("argument", "extra", "name", "result_index", "utf16_offset")

    def __init__(self, name: str, argument: str, extra: str, utf16_offset: int, index: int):
        self.name = name
        self.argument = argument
        self.extra = extra
        self.utf16_offset = utf16_offset
        self.result_index = index


def parse_html(markup: str, resolve_user: UserResolver | None = None) -> tuple[str, list[Entity]]:
    """Turn Telegram-flavoured HTML into plain text and entities.

    Raises EntityParseError with Telegram's wording for markup Telegram refuses.
    """
    pieces: list[str] = []
    produced = 0  # code points emitted so far
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    i = 0
    n = len(markup)
    while i < n:
        ch = markup[i]
        if ch == "&":
            decoded = _decode_entity(markup, i)
            if decoded is not None:
                value, i = decoded
                pieces.append(value)
                produced += 1
                utf16 += 2 if ord(value) > 0xFFFF else 1
                continue
            pieces.append("&")
            produced += 1
            utf16 += 1
            i += 1
            continue
        if ch != "<":
            match = _SPECIAL.search(markup, i)
            end = match.start() if match else n
            chunk = markup[i:end]
            pieces.append(chunk)
            produced += len(chunk)
            utf16 += utf16_len(chunk)
            i = end
            continue
        begin = i
        i += 1
        if i < n and markup[i] == "/":
            i = _close_tag(markup, begin, stack, entities, pieces, utf16, resolve_user)
            continue
        tag, i = _open_tag(markup, begin)
        tag.utf16_offset = utf16
        tag.result_index = produced
        stack.append(tag)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return "".join(pieces), _drop_nested_in_code(_sorted(entities))


def _open_tag(markup: str, begin: int) -> tuple[_OpenTag, int]:
    n = len(markup)
    i = begin + 1
    while i < n and markup[i] not in _TAG_SPACE and markup[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(markup, begin)}")
    name = markup[begin + 1 : i].lower()
    if name not in _SUPPORTED_TAGS:
        raise EntityParseError(
            f'Unsupported start tag "{name}" at byte offset {_byte_offset(markup, begin)}'
        )
    argument = ""
    extra = ""
    while True:
        while i < n and markup[i] in _TAG_SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{name}" at byte offset {_byte_offset(markup, begin)}'
            )
        if markup[i] == ">":
            i += 1
            break
        attr_begin = i
        while i < n and markup[i] not in _TAG_SPACE and markup[i] not in "=>":
            i += 1
        attr = markup[attr_begin:i].lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{name}" at byte offset '
                f"{_byte_offset(markup, begin)}"
            )
        while i < n and markup[i] in _TAG_SPACE:
            i += 1
        if i >= n or markup[i] != "=":
            if name == "blockquote" and attr == "expandable":
                argument = "expandable"
                continue
            raise EntityParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{name}" at byte offset {_byte_offset(markup, begin)}'
            )
        i += 1
        while i < n and markup[i] in _TAG_SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{name}" at byte offset {_byte_offset(markup, begin)}'
            )
        value, i = _attribute_value(markup, i)
        if i >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(markup, begin)}"
            )
        if name == "a" and attr == "href":
            argument = value
        elif name == "code" and attr == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif name == "span" and attr == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif (name, attr) in {("tg-emoji", "emoji-id"), ("tg-time", "unix")}:
            argument = value
        elif name == "tg-time" and attr == "format":
            extra = value
    if name == "span" and argument != "spoiler":
        raise EntityParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(markup, begin)}'
        )
    if name == "tg-emoji" and not argument.isdigit():
        raise EntityParseError("Custom emoji identifier must be non-empty")
    if name == "tg-time" and not argument.lstrip("-").isdigit():
        raise EntityParseError(
            f'Tag "tg-time" must have attribute "unix" at byte offset {_byte_offset(markup, begin)}'
        )
    return _OpenTag(name, argument, extra, 0, 0), i


def _attribute_value(markup: str, i: int) -> tuple[str, int]:
    n = len(markup)
    quote = markup[i]
    if quote not in "'\"":
        match = _NAME_TOKEN.match(markup, i)
        assert match is not None  # the pattern accepts the empty string
        end = match.end()
        if end < n and markup[end] not in _TAG_SPACE and markup[end] != ">":
            raise EntityParseError(
                f"Unexpected end of name token at byte offset {_byte_offset(markup, i)}"
            )
        return markup[i:end].lower(), end
    i += 1
    value: list[str] = []
    while i < n and markup[i] != quote:
        if markup[i] == "&":
            decoded = _decode_entity(markup, i)
            if decoded is not None:
                value.append(decoded[0])
                i = decoded[1]
                continue
        value.append(markup[i])
        i += 1
    if i < n:
        i += 1
    return "".join(value), i


def _close_tag(
    markup: str,
    begin: int,
    stack: list[_OpenTag],
    entities: list[Entity],
    pieces: list[str],
    utf16: int,
    resolve_user: UserResolver | None,
) -> int:
    n = len(markup)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(markup, begin)}")
    i = begin + 2
    while i < n and markup[i] not in _TAG_SPACE and markup[i] != ">":
        i += 1
    end_name = markup[begin + 2 : i].lower()
    while i < n and markup[i] in _TAG_SPACE:
        i += 1
    if i >= n or markup[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(markup, begin)}")
    open_tag = stack[-1]
    if end_name and end_name != open_tag.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(markup, begin)}, "
            f'expected "</{open_tag.name}>", found "</{end_name}>"'
        )
    stack.pop()
    length = utf16 - open_tag.utf16_offset
    if length > 0:
        entity = _entity_for(open_tag, length, entities, pieces, resolve_user)
        if entity is not None:
            entities.append(entity)
    return i + 1


def _entity_for(
    tag: _OpenTag,
    length: int,
    entities: list[Entity],
    pieces: list[str],
    resolve_user: UserResolver | None,
) -> Entity | None:
    offset = tag.utf16_offset
    simple = _SIMPLE_TYPES.get(tag.name)
    if simple is not None:
        return {"type": simple, "offset": offset, "length": length}
    if tag.name == "a":
        url = tag.argument or "".join(pieces)[tag.result_index :]
        return _link_entity(url, offset, length, resolve_user)
    if tag.name == "code":
        entity: Entity = {"type": "code", "offset": offset, "length": length}
        if tag.argument:
            # Remembered only until a surrounding <pre> claims it; see below.
            entity["_language"] = tag.argument
        return entity
    if tag.name == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
        ):
            entities.pop()
            pre: Entity = {"type": "pre", "offset": offset, "length": length}
            if last.get("_language"):
                pre["language"] = last["_language"]
            return pre
        return {"type": "pre", "offset": offset, "length": length}
    if tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag.name == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": tag.argument,
        }
    if tag.name == "tg-time":
        entity = {
            "type": "date_time",
            "offset": offset,
            "length": length,
            "unix_time": int(tag.argument),
        }
        if tag.extra:
            entity["date_time_format"] = tag.extra
        return entity
    return None


_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)
_LINK_SCHEMES = frozenset({"http", "https", "ftp", "tg", "ton", "tonsite"})


def normalize_url(url: str) -> str | None:
    """Telegram's canonical form of a link, or None when it would drop the link."""
    url = url.strip()
    if not url or any(c in url for c in " \n\t"):
        return None
    if "://" not in url:
        if ":" in url.split("/", 1)[0] and not url.split(":", 1)[1][:1].isdigit():
            return None  # javascript:, mailto: and friends are not links on Telegram
        url = "http://" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme in {"http", "https", "ftp"}:
        host = parts.hostname or ""
        if not host or ("." not in host and host != "localhost"):
            return None
        return urlunsplit(
            (scheme, parts.netloc.lower(), parts.path or "/", parts.query, parts.fragment)
        )
    return url


def _link_entity(
    url: str, offset: int, length: int, resolve_user: UserResolver | None
) -> Entity | None:
    user_match = _USER_LINK.match(url.strip())
    if user_match is not None:
        user = resolve_user(int(user_match.group(1))) if resolve_user else None
        if user is None:
            return None
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    normalized = normalize_url(url)
    if normalized is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": normalized}


def _sorted(entities: list[Entity]) -> list[Entity]:
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


def _drop_nested_in_code(entities: list[Entity]) -> list[Entity]:
    """Code and pre cannot contain other formatting on Telegram, so it is discarded."""
    blocks = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _CODE]
    if not blocks:
        return entities
    kept = []
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        inside = any(
            b_start <= start and end <= b_end and (b_start, b_end) != (start, end)
            for b_start, b_end in blocks
        )
        if not inside:
            kept.append(entity)
    return kept


_CODE = frozenset({"code", "pre"})
_TRIM = " \t\n\r\v\f"


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip surrounding blanks as Telegram does, keeping entities aligned."""
    stripped_left = text.lstrip(_TRIM)
    result = stripped_left.rstrip(_TRIM)
    if len(result) == len(text):
        return text, entities
    cut = utf16_len(text[: len(text) - len(stripped_left)])
    total = utf16_len(result)
    adjusted = []
    for entity in entities:
        start = max(0, entity["offset"] - cut)
        end = min(total, entity["offset"] + entity["length"] - cut)
        if end > start:
            adjusted.append({**entity, "offset": start, "length": end - start})
    return result, adjusted


_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)


def validate_entities(
    text: str, raw: object, resolve_user: UserResolver | None = None
) -> list[Entity]:
    """Check an explicit ``entities`` list; out-of-range entities are dropped like Telegram does."""
    if not isinstance(raw, list):
        raise EntityParseError("entities must be an array")
    total = utf16_len(text)
    result: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict):
            raise EntityParseError("entity must be an object")
        kind = item.get("type")
        offset = item.get("offset")
        length = item.get("length")
        if kind not in _ENTITY_TYPES:
            raise EntityParseError(f"unsupported entity type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise EntityParseError("entity offset and length must be integers")
        if offset < 0 or length <= 0 or offset >= total:
            continue
        entity: Entity = {"type": kind, "offset": offset, "length": min(length, total - offset)}
        if kind == "text_link":
            url = normalize_url(str(item.get("url", "")))
            if url is None:
                continue
            entity["url"] = url
        elif kind == "text_mention":
            user = item.get("user")
            user_id = user.get("id") if isinstance(user, dict) else None
            resolved = resolve_user(user_id) if resolve_user and isinstance(user_id, int) else None
            if resolved is None:
                continue
            entity["user"] = resolved
        elif kind == "pre" and isinstance(item.get("language"), str) and item["language"]:
            entity["language"] = item["language"]
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = str(item.get("custom_emoji_id", ""))
        elif kind == "date_time":
            if not isinstance(item.get("unix_time"), int):
                continue
            entity["unix_time"] = item["unix_time"]
            if isinstance(item.get("date_time_format"), str):
                entity["date_time_format"] = item["date_time_format"]
        result.append(entity)
    return _sorted(result)


# Automatic entities Telegram finds in any text. Deliberately a subset: commands, mentions,
# hashtags, emails and scheme-prefixed links (bare domains and phone numbers are not detected).
_AUTO_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("url", re.compile(r"(?<![\w@])(?:https?|ftp)://[^\s<>\"]+", re.IGNORECASE)),
    (
        "bot_command",
        re.compile(r"(?<![\w/@#<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])"),
    ),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#&])#(?!\d+\b)\w{1,256}")),
)
_AUTO_HINT = re.compile(r"[/@#]|://")
# Formatting that makes its text literal, so no automatic entity is found inside it.
_OPAQUE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji", "date_time"})
_URL_TRAILING = ".,;:!?'\")]}"


def detect_entities(text: str, existing: list[Entity]) -> list[Entity]:
    """Add the automatic entities (bot_command, mention, ...) Telegram would find."""
    if not _AUTO_HINT.search(text):
        return existing
    is_bmp = len(text.encode("utf-16-le")) == 2 * len(text)

    def to_utf16(index: int) -> int:
        return index if is_bmp else utf16_len(text[:index])

    taken = [
        (e["offset"], e["offset"] + e["length"])
        for e in existing
        if e["type"] in _OPAQUE or e["type"] in _AUTO_TYPES
    ]
    found: list[Entity] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                while end > start and text[end - 1] in _URL_TRAILING:
                    end -= 1
            start16, end16 = to_utf16(start), to_utf16(end)
            if any(start16 < t_end and t_start < end16 for t_start, t_end in taken):
                continue
            taken.append((start16, end16))
            found.append({"type": kind, "offset": start16, "length": end16 - start16})
    if not found:
        return existing
    return _sorted([*existing, *found])


_AUTO_TYPES = frozenset({"email", "url", "bot_command", "mention", "hashtag"})


def format_text(
    text: str,
    parse_mode: str | None,
    entities: object | None,
    resolve_user: UserResolver | None = None,
) -> tuple[str, list[Entity]]:
    """The full pipeline Telegram applies to a message text or caption.

    Raises EntityParseError (HTML problems) or UnsupportedParseMode.
    """
    if entities is not None:
        found = validate_entities(text, entities, resolve_user)
    elif parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            text, found = parse_html(text, resolve_user)
        elif mode in {"markdownv2", "markdown"}:
            raise UnsupportedParseMode(parse_mode)
        else:
            raise UnsupportedParseMode(parse_mode)
    else:
        found = []
    text, found = trim(text, found)
    return text, detect_entities(text, found)


class UnsupportedParseMode(ValueError):
    """A parse mode the emulator does not implement (MarkdownV2, Markdown) or an unknown one."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode
