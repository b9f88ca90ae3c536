"""attachment: Elasticsearch's documented RTF example, and the text/HTML/PDF/DOCX readers."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.errors import ParseException
from tests.processors.helpers import error_of, source_of


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_docs_example_rtf() -> None:
    out = source_of([{"attachment": {"field": "data", "remove_binary": True}}],
                    {"data": "e1xydGYxXGFuc2kNCkxvcmVtIGlwc3VtIGRvbG9yIHNpdCBhbWV0DQpccGFyIH0="})
    assert out == {"attachment": {"content": "Lorem ipsum dolor sit amet", "content_type": "application/rtf",
                                  "content_length": 28}}


def test_plain_text_limits_and_properties() -> None:
    text = b"This is an english text to tests if the pipeline works"
    out = source_of([{"attachment": {"field": "data", "remove_binary": False}}], {"data": _b64(text)})
    assert out["attachment"] == {"content": text.decode(), "content_type": "text/plain; charset=ISO-8859-1",
                                 "content_length": 54}
    assert out["data"] == _b64(text)  # kept with remove_binary: false
    short = source_of([{"attachment": {"field": "data", "indexed_chars": 7, "properties": ["content"]}}],
                      {"data": _b64(text)})
    assert short == {"attachment": {"content": "This is"}}  # the binary is removed by default (Elasticsearch 9)
    per_doc = source_of([{"attachment": {"field": "data", "indexed_chars_field": "max", "properties": ["content"]}}],
                        {"data": _b64(text), "max": 4})
    assert per_doc["attachment"] == {"content": "This"}
    utf8 = source_of([{"attachment": {"field": "d"}}], {"d": _b64("Grüße".encode())})["attachment"]
    assert (utf8["content"], utf8["content_type"]) == ("Grüße", "text/plain; charset=UTF-8")


def test_html() -> None:
    page = b"<html><head><title>Hello</title></head><body><h1>Title</h1><p>Some <b>bold</b> text</p></body></html>"
    out = source_of([{"attachment": {"field": "d"}}], {"d": _b64(page)})["attachment"]
    assert out["title"] == "Hello" and out["content_type"] == "text/html; charset=UTF-8"
    assert out["content"] == "Title\n\nSome bold text"


def _docx() -> bytes:
    buf = io.BytesIO()
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>First</w:t></w:r>'
                                              '<w:r><w:t xml:space="preserve"> line</w:t></w:r></w:p><w:p><w:r>'
                                              '<w:t>Second</w:t></w:r></w:p></w:body></w:document>')
        archive.writestr("docProps/core.xml", '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
                                              'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/'
                                              'elements/1.1/"><dc:title>Report</dc:title><dc:creator>Jane'
                                              '</dc:creator></cp:coreProperties>')
    return buf.getvalue()


def test_docx() -> None:
    out = source_of([{"attachment": {"field": "d"}}], {"d": _b64(_docx())})["attachment"]
    assert (out["content"], out["title"], out["author"]) == ("First line\nSecond", "Report", "Jane")
    assert out["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_pdf() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": "Blank", "/Author": "Jane", "/CreationDate": "D:20240102030405Z"})
    buf = io.BytesIO()
    writer.write(buf)
    out = source_of([{"attachment": {"field": "d"}}], {"d": _b64(buf.getvalue())})["attachment"]
    assert (out["content_type"], out["title"], out["author"], out["date"]) == (
        "application/pdf", "Blank", "Jane", "2024-01-02T03:04:05Z")


def test_errors() -> None:
    procs: list[dict[str, Any]] = [{"attachment": {"field": "d"}}]
    assert error_of(procs, {"d": None})["reason"] == "field [d] is null, cannot parse."
    assert source_of([{"attachment": {"field": "d", "ignore_missing": True}}], {}) == {}
    assert "base64" in error_of(procs, {"d": "not base64!"})["reason"]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("x.txt", "x")
    err = error_of(procs, {"d": _b64(zipped.getvalue())})
    assert err["type"] == "parse_exception"
    assert err["reason"].startswith("Error parsing document in field [d]: documents of type [application/zip]")
    with pytest.raises(ParseException, match=r"illegal field option \[bad\]"):
        parse_pipeline("p", {"processors": [{"attachment": {"field": "d", "properties": ["bad"]}}]})
