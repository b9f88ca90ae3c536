"""``attachment``: text and metadata of a base64-encoded file (Elasticsearch's ingest-attachment, which uses
Apache Tika). Tika reads about a thousand formats; this reads the common ones with small, well-kept parts:
plain text, HTML, RTF, PDF (``pypdf``) and Word ``.docx`` (the standard library's zip and XML readers). Other
formats are a per-document error naming the detected type; ``language`` (Tika's n-gram identifier) is not
produced.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument, java_type
from ingest.processors.errors import ParseException, illegal_argument
from ingest.processors.strings import HtmlStripProcessor

PROPERTIES = ("CONTENT", "TITLE", "AUTHOR", "KEYWORDS", "DATE", "CONTENT_TYPE", "CONTENT_LENGTH", "LANGUAGE",
              "MODIFIED", "FORMAT", "IDENTIFIER", "CONTRIBUTOR", "COVERAGE", "MODIFIER", "CREATOR_TOOL", "PUBLISHER",
              "RELATION", "RIGHTS", "SOURCE", "TYPE", "DESCRIPTION", "PRINT_DATE", "METADATA_DATE", "LATITUDE",
              "LONGITUDE", "ALTITUDE", "RATING", "COMMENTS")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Unsupported(Exception):
    """A format this implementation cannot read."""


def _text(data: bytes) -> tuple[str, str]:
    try:
        text = data.decode("ascii")
        return text, "text/plain; charset=ISO-8859-1"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("utf-8"), "text/plain; charset=UTF-8"
    except UnicodeDecodeError:
        raise Unsupported("application/octet-stream") from None


def _html(data: bytes) -> tuple[str, dict[str, str]]:
    text = data.decode("utf-8", errors="replace")
    meta = {}
    title = re.search(r"<title[^>]*>(.*?)</title\s*>", text, re.I | re.S)
    if title:
        meta["title"] = html.unescape(title.group(1).strip())
    body = re.sub(r"<head\b.*?</head\s*>", "", text, flags=re.I | re.S)
    return HtmlStripProcessor().transform(body), meta


_RTF_SKIP = {"fonttbl", "colortbl", "stylesheet", "info", "pict", "header", "footer", "generator", "listtable",
             "listoverridetable", "rsidtbl", "xmlnstbl", "themedata", "datastore", "latentstyles"}
_RTF_TOKEN = re.compile(r"\\([a-z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-z])|([{}])|[\r\n]+|([^\\{}\r\n]+)",
                        re.I)


def _rtf(data: bytes) -> str:
    """The text of an RTF document: control words dropped, destinations like the font table skipped."""
    out: list[str] = []
    stack: list[bool] = []
    skip = False
    for match in _RTF_TOKEN.finditer(data.decode("latin-1")):
        word, _arg, hexchar, symbol, brace, text = match.groups()
        if brace == "{":
            stack.append(skip)
        elif brace == "}":
            skip = stack.pop() if stack else False
        elif word is not None:
            if word in _RTF_SKIP:
                skip = True
            elif not skip and word in ("par", "line", "sect", "page"):
                out.append("\n")
            elif not skip and word == "tab":
                out.append("\t")
        elif hexchar is not None and not skip:
            out.append(bytes([int(hexchar, 16)]).decode("cp1252", errors="replace"))
        elif symbol is not None and not skip:
            out.append({"*": "", "~": "\u00a0", "-": "", "_": "-"}.get(symbol, symbol))
            if symbol == "*":
                skip = True
        elif text is not None and not skip:
            out.append(text)
    return "".join(out) + "\n"  # Tika's RTF parser ends the last paragraph


def _pdf_date(value: Any) -> str | None:
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?", str(value or ""))
    if not match:
        return None
    y, mo, d, h, mi, s = (g or dflt for g, dflt in zip(match.groups(), ("", "01", "01", "00", "00", "00"),
                                                        strict=True))
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


def _pdf(data: bytes) -> tuple[str, dict[str, str]]:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise Unsupported("application/pdf (the pypdf package is not installed: pip install 'ingest[processors]')"
                          ) from None
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    info: Any = reader.metadata or {}
    meta = {"title": info.get("/Title"), "author": info.get("/Author"), "keywords": info.get("/Keywords"),
            "creator_tool": info.get("/Creator"), "date": _pdf_date(info.get("/CreationDate")),
            "modified": _pdf_date(info.get("/ModDate")), "format": f"application/pdf; version={reader.pdf_header[5:]}"}
    return text, {k: str(v) for k, v in meta.items() if v}


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CORE = {"{http://purl.org/dc/elements/1.1/}title": "title", "{http://purl.org/dc/elements/1.1/}creator": "author",
         "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}keywords": "keywords",
         "{http://purl.org/dc/terms/}created": "date", "{http://purl.org/dc/terms/}modified": "modified",
         "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}lastModifiedBy": "modifier",
         "{http://purl.org/dc/elements/1.1/}description": "description",
         "{http://purl.org/dc/elements/1.1/}subject": "keywords"}


def _docx(archive: zipfile.ZipFile) -> tuple[str, dict[str, str]]:
    root = ElementTree.fromstring(archive.read("word/document.xml"))
    paragraphs = []
    for para in root.iter(f"{_W}p"):
        parts = []
        for node in para.iter():
            if node.tag == f"{_W}t" and node.text:
                parts.append(node.text)
            elif node.tag == f"{_W}tab":
                parts.append("\t")
            elif node.tag == f"{_W}br":
                parts.append("\n")
        paragraphs.append("".join(parts))
    meta: dict[str, str] = {}
    if "docProps/core.xml" in archive.namelist():
        for node in ElementTree.fromstring(archive.read("docProps/core.xml")):
            name = _CORE.get(node.tag)
            if name and node.text and name not in meta:
                meta[name] = node.text.strip()
    return "\n".join(paragraphs), meta


def extract(data: bytes) -> tuple[str, str, dict[str, str]]:
    """(text, content type, metadata) of a file; raises Unsupported with the detected type."""
    head = data[:1024].lstrip()
    if data.startswith(b"%PDF-"):
        text, meta = _pdf(data)
        return text, "application/pdf", meta
    if data.startswith(b"{\\rtf"):
        return _rtf(data), "application/rtf", {}
    if data.startswith(b"PK\x03\x04"):
        archive = zipfile.ZipFile(io.BytesIO(data))
        if "word/document.xml" in archive.namelist():
            text, meta = _docx(archive)
            return text, DOCX, meta
        raise Unsupported("application/zip")
    if re.match(rb"(?i)(<!doctype html|<html|<head|<body)", head):
        text, meta = _html(data)
        return text, "text/html; charset=UTF-8", meta
    if b"\x00" in data[:8000]:
        raise Unsupported("application/octet-stream")
    text, content_type = _text(data)
    return text, content_type, {}


class AttachmentProcessor(Processor):
    """``attachment``: ``attachment.content``, ``content_type``, ``content_length``, ``title``, ``author``, ..."""

    type = "attachment"
    field: str
    target: str
    properties: list[str]
    indexed_chars: int
    indexed_chars_field: str | None
    resource_name: str | None
    ignore_missing: bool
    remove_binary: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.resource_name = opts.string("resource_name")
        p.target = opts.string("target_field", "attachment")
        names = opts.string_list("properties", allow_string=False)
        p.indexed_chars = opts.integer("indexed_chars", 100_000)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.indexed_chars_field = opts.string("indexed_chars_field")
        p.remove_binary = opts.boolean("remove_binary", True)  # Elasticsearch 9's default
        p.properties = list(PROPERTIES) if names is None else []
        for name in names or []:
            if name.upper() not in PROPERTIES:
                raise opts.error("properties", f"[properties] illegal field option [{name}]. valid values are "
                                               f"[{', '.join(PROPERTIES)}]")
            p.properties.append(name.upper())
        return p

    def _bytes(self, doc: IngestDocument) -> bytes | None:
        value = doc.get(self.field, None) if self.ignore_missing else doc.get(self.field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise illegal_argument(f"Content field [{self.field}] of unknown type [{java_type(value)}], must be "
                                   "string or byte array")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise illegal_argument(f"Illegal base64 character in field [{self.field}]: {exc}") from None

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        data = self._bytes(doc)
        if data is None:
            if self.ignore_missing:
                return
            raise illegal_argument(f"field [{self.field}] is null, cannot parse.")
        limit = self.indexed_chars
        if self.indexed_chars_field is not None:
            given = doc.get(self.indexed_chars_field, None)
            limit = given if isinstance(given, int) and not isinstance(given, bool) else limit
        content, content_type, meta = "", None, dict[str, str]()
        if data:
            try:
                content, content_type, meta = extract(data)
            except Unsupported as exc:
                raise ParseException(f"Error parsing document in field [{self.field}]: documents of type [{exc}] "
                                     "cannot be read here (supported: text, HTML, RTF, PDF, DOCX)") from None
            except Exception as exc:
                raise ParseException(f"Error parsing document in field [{self.field}]: {exc}") from None
        if limit >= 0:
            content = content[:limit]
        out: dict[str, Any] = {}
        wanted = set(self.properties)
        if "CONTENT" in wanted and content:
            out["content"] = content.strip()
        values = {**meta, "content_type": content_type}
        for prop in self.properties:
            key = prop.lower()
            if key not in ("content", "content_length") and values.get(key):
                out[key] = values[key]
        if "CONTENT_LENGTH" in wanted:
            out["content_length"] = len(content)
        doc.set(self.target, out)
        if self.remove_binary:
            doc.remove(self.field)


PROCESSORS: list[type[Processor]] = [AttachmentProcessor]
