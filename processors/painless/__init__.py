"""A documented subset of Painless for ``if`` conditions and the ``script`` processor.

Supported: ``ctx`` field access (``ctx.a.b``, ``ctx['a.b']``, null-safe ``?.``), literals (numbers, strings,
booleans, null, ``[..]`` lists, ``[k: v]`` maps, ``new ArrayList()`` / ``new HashMap()``), ``params``,
comparison / boolean / arithmetic operators, string concatenation, ternary and elvis (``?:``), casts,
assignments (``=``, ``+=``...), ``++``/``--``, variable declarations (``def x = ...``), ``if``/``else``,
``for (x in list)`` / ``for (def x : list)`` / C-style ``for`` and ``while`` (bounded), ``return``, ``break``,
``continue``; String/List/Map methods (``contains``, ``startsWith``, ``endsWith``, ``toLowerCase``,
``toUpperCase``, ``trim``, ``size``, ``isEmpty``, ``containsKey``, ``get``, ``put``, ``remove``, ``add``,
``substring``, ``indexOf``, ``replace``, ``splitOnToken``, ...), ``Math.*``, ``Integer.parseInt`` and friends.
Anything else (lambdas, regexes, instanceof, try/catch, bitwise operators, user functions, other classes) is
rejected when the pipeline is stored, naming the line, column and construct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ingest.models.errors import ElasticsearchError
from ingest.processors.painless.columnar import compile_condition
from ingest.processors.painless.errors import runtime_error
from ingest.processors.painless.interp import compile_node, run_program
from ingest.processors.painless.parser import Node, parse

if TYPE_CHECKING:
    from ingest.processors.document import IngestDocument


class Script:
    """A compiled script: ``run`` executes it against a document's ``ctx``; ``test`` evaluates a condition."""

    def __init__(self, source: str, params: dict[str, Any], tree: Node) -> None:
        self.source = source
        self.params = params
        self.tree = tree
        self._program = compile_node(tree)
        self.columnar_mask = compile_condition(tree)

    def run(self, doc: IngestDocument) -> Any:
        """Run with ``ctx`` bound to the document (metadata included, as in Elasticsearch)."""
        try:
            return run_program(self._program, {"ctx": doc.ctx, "params": self.params})
        except ElasticsearchError as exc:
            raise runtime_error(self.source, exc) from None
        except RecursionError:
            raise runtime_error(self.source, ElasticsearchError("script too deeply nested",
                                                                error_type="painless_error")) from None

    def test(self, doc: IngestDocument) -> bool:
        """Evaluate as an ``if`` condition; a non-boolean result is an error, as in Elasticsearch."""
        result = self.run(doc)
        if not isinstance(result, bool):
            raise runtime_error(self.source, ElasticsearchError(
                f"condition [{self.source}] must return a boolean value, but got [{result}]",
                error_type="illegal_argument_exception", status=400))
        return result


def compile_script(source: str, params: dict[str, Any], *, condition: bool = False) -> Script:
    """Parse and compile; raises ``script_exception`` (with line, column and construct) outside the subset."""
    return Script(source, params, parse(source))
