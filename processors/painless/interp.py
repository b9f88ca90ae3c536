"""Interpreting the Painless-subset syntax tree: each node becomes a Python closure (no eval/exec).

Loops are bounded by iteration count and every script by wall-clock time, so a bad script cannot hang ingest;
strings, collections and the bytes a run allocates are bounded too (``limits.py``), so it cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.processors.document import java_type
from ingest.processors.painless.limits import Frame, join_chars, text_size
from ingest.processors.painless.ops import BINARY, add, error, get_index, npe, truth
from ingest.processors.painless.parser import Node

Fn = Callable[["Frame"], Any]


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def compile_node(node: Node) -> Fn:
    """The closure evaluating ``node``."""
    return _COMPILERS[node.kind](*node.args)


# --- statements --------------------------------------------------------------------------------------------
def _block(stmts: list[Node]) -> Fn:
    fns = [compile_node(s) for s in stmts]
    last_is_expr = bool(stmts) and stmts[-1].kind == "expr"

    def run(frame: Frame) -> Any:
        result = None
        for fn in fns:
            result = fn(frame)
        return result if last_is_expr else None
    return run


def _expr(expr: Node) -> Fn:
    return compile_node(expr)


def _if(cond: Node, then: Node, other: Node | None) -> Fn:
    c, t = compile_node(cond), compile_node(then)
    o = compile_node(other) if other is not None else None

    def run(frame: Frame) -> Any:
        if truth(c(frame)):
            t(frame)
        elif o is not None:
            o(frame)
    return run


def _loop_body(body: Fn, frame: Frame) -> bool:
    """Run one iteration; False means break."""
    frame.tick()
    try:
        body(frame)
    except _Break:
        return False
    except _Continue:
        pass
    return True


def _forin(var: str, iterable: Node, body: Node) -> Fn:
    it, b = compile_node(iterable), compile_node(body)

    def run(frame: Frame) -> Any:
        values = it(frame)
        if values is None:
            raise npe("Iterable.iterator()")
        if isinstance(values, dict):
            values = values.keys()
        elif not isinstance(values, (list, tuple, set, type({}.keys()), type({}.values()))):
            raise error("class_cast_exception", f"Cannot iterate over [{java_type(values)}]")
        for value in list(values):
            frame.vars[var] = value
            if not _loop_body(b, frame):
                break
    return run


def _for(init: Node | None, cond: Node | None, update: Node | None, body: Node) -> Fn:
    i = compile_node(init) if init is not None else None
    c = compile_node(cond) if cond is not None else None
    u = compile_node(update) if update is not None else None
    b = compile_node(body)

    def run(frame: Frame) -> Any:
        if i is not None:
            i(frame)
        while c is None or truth(c(frame)):
            if not _loop_body(b, frame):
                break
            if u is not None:
                u(frame)
    return run


def _while(cond: Node, body: Node) -> Fn:
    return _for(None, cond, None, body)


def _return(value: Node | None) -> Fn:
    v = compile_node(value) if value is not None else None

    def run(frame: Frame) -> Any:
        raise _Return(v(frame) if v is not None else None)
    return run


def _break() -> Fn:
    def run(frame: Frame) -> Any:
        raise _Break
    return run


def _continue() -> Fn:
    def run(frame: Frame) -> Any:
        raise _Continue
    return run


def _decl(name: str, value: Node | None) -> Fn:
    v = compile_node(value) if value is not None else None

    def run(frame: Frame) -> Any:
        frame.vars[name] = v(frame) if v is not None else None
    return run


# --- expressions -------------------------------------------------------------------------------------------
def _literal(value: Any) -> Fn:
    return lambda frame: value


def _var(name: str) -> Fn:
    def run(frame: Frame) -> Any:
        try:
            return frame.vars[name]
        except KeyError:
            raise error("illegal_argument_exception", f"cannot resolve symbol [{name}]") from None
    return run


def _get_field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    if obj is None:
        raise npe(f"Map.get(\"{name}\")")
    if isinstance(obj, list) and name == "length":
        return len(obj)
    raise error("illegal_argument_exception", f"dynamic getter [{java_type(obj)}, {name}] not found")


def _field(obj: Node, name: str, nullsafe: bool) -> Fn:
    o = compile_node(obj)

    def run(frame: Frame) -> Any:
        value = o(frame)
        if value is None and nullsafe:
            return None
        return _get_field(value, name)
    return run


def _index(obj: Node, key: Node) -> Fn:
    o, k = compile_node(obj), compile_node(key)
    return lambda frame: get_index(o(frame), k(frame))


def _store(target: Node) -> Callable[[Frame, Any], None]:
    """A setter for an assignment target."""
    if target.kind == "var":
        name = target.args[0]

        def set_var(frame: Frame, value: Any) -> None:
            frame.vars[name] = value
        return set_var
    holder = compile_node(target.args[0])
    key_fn = (lambda frame, k=target.args[1]: k) if target.kind == "field" else compile_node(target.args[1])

    def set_item(frame: Frame, value: Any) -> None:
        obj, key = holder(frame), key_fn(frame)
        if isinstance(obj, dict):
            grown = key not in obj
            obj[key] = value
            if grown:
                frame.memory.collection(obj, "map entries")
        elif isinstance(obj, list) and isinstance(key, int):
            try:
                obj[key] = value
            except IndexError:
                raise error("index_out_of_bounds_exception",
                             f"Index {key} out of bounds for length {len(obj)}") from None
        elif obj is None:
            raise npe("Map.put(Object, Object)")
        else:
            raise error("illegal_argument_exception", f"dynamic setter [{java_type(obj)}, {key}] not found")
    return set_item


def _assign(op: str, target: Node, value: Node) -> Fn:
    setter, v = _store(target), compile_node(value)
    if op == "=":
        def run(frame: Frame) -> Any:
            result = v(frame)
            setter(frame, result)
            return result
        return run
    current = compile_node(target)
    binop = BINARY[op[0]]

    def run_compound(frame: Frame) -> Any:
        x, y = current(frame), v(frame)
        if op == "+=":
            frame.concat(x, y)
        result = binop(x, y)
        setter(frame, result)
        return result
    return run_compound


def _incdec(op: str, target: Node, prefix: bool) -> Fn:
    setter, current = _store(target), compile_node(target)
    delta = 1 if op == "++" else -1

    def run(frame: Frame) -> Any:
        before = current(frame)
        after = add(before, delta)
        setter(frame, after)
        return after if prefix else before
    return run


def _binary(op: str, left: Node, right: Node) -> Fn:
    fn, a, b = BINARY[op], compile_node(left), compile_node(right)
    if op != "+":
        return lambda frame: fn(a(frame), b(frame))

    def plus(frame: Frame) -> Any:
        x, y = a(frame), b(frame)
        frame.concat(x, y)
        return fn(x, y)
    return plus


def _and(left: Node, right: Node) -> Fn:
    a, b = compile_node(left), compile_node(right)
    return lambda frame: truth(a(frame)) and truth(b(frame))


def _or(left: Node, right: Node) -> Fn:
    a, b = compile_node(left), compile_node(right)
    return lambda frame: truth(a(frame)) or truth(b(frame))


def _unary(op: str, operand: Node) -> Fn:
    a = compile_node(operand)
    if op == "!":
        return lambda frame: not truth(a(frame))
    if op == "-":
        return lambda frame: BINARY["-"](0, a(frame))
    return lambda frame: add(0, a(frame))


def _ternary(cond: Node, then: Node, other: Node) -> Fn:
    c, t, o = compile_node(cond), compile_node(then), compile_node(other)
    return lambda frame: t(frame) if truth(c(frame)) else o(frame)


def _elvis(left: Node, right: Node) -> Fn:
    a, b = compile_node(left), compile_node(right)

    def run(frame: Frame) -> Any:
        value = a(frame)
        return b(frame) if value is None else value
    return run


def _cast(type_name: str, operand: Node) -> Fn:
    from ingest.processors.painless.methods import cast
    a = compile_node(operand)
    return lambda frame: cast(type_name, a(frame))


def _listinit(items: list[Node]) -> Fn:
    fns = [compile_node(i) for i in items]

    def run(frame: Frame) -> Any:
        frame.memory.add(len(fns) * 8, "list initializer")
        return [f(frame) for f in fns]
    return run


def _mapinit(pairs: list[tuple[Node, Node]]) -> Fn:
    fns = [(compile_node(k), compile_node(v)) for k, v in pairs]

    def run(frame: Frame) -> Any:
        frame.memory.add(len(fns) * 16, "map initializer")
        return {k(frame): v(frame) for k, v in fns}
    return run


def _new(kind: str) -> Fn:
    return (lambda frame: []) if kind == "list" else (lambda frame: {})


def _call(obj: Node, name: str, args: list[Node], nullsafe: bool) -> Fn:
    from ingest.processors.painless.methods import call_method
    o, fns = compile_node(obj), [compile_node(a) for a in args]

    def run(frame: Frame) -> Any:
        receiver = o(frame)
        if receiver is None and nullsafe:
            return None
        values = [f(frame) for f in fns]
        counted = frame.memory.before_call(receiver, name, values)  # what can grow is checked before it is built
        size = len(receiver) if isinstance(receiver, (list, dict)) else 0
        result = call_method(receiver, name, values)
        if isinstance(receiver, (list, dict)) and len(receiver) > size:
            frame.memory.collection(receiver, f"{java_type(receiver)}.{name}", len(receiver) - size)
        elif isinstance(receiver, str) and not counted and result is not receiver:
            frame.memory.result(result, f"String.{name}")
        return result
    return run


def _static(cls: str, name: str, args: list[Node]) -> Fn:
    from ingest.processors.painless.methods import call_static
    fns = [compile_node(a) for a in args]

    def run(frame: Frame) -> Any:
        values = [f(frame) for f in fns]
        if cls == "String" and name == "join" and len(values) == 2:
            frame.memory.string(join_chars(values[0], values[1]), "String.join")
        elif name in ("valueOf", "toString") and values:
            frame.memory.string(text_size(values[0]), f"{cls}.{name}")
        return call_static(cls, name, values)
    return run


_COMPILERS: dict[str, Callable[..., Fn]] = {
    "block": _block, "expr": _expr, "if": _if, "forin": _forin, "for": _for, "while": _while, "return": _return,
    "break": _break, "continue": _continue, "decl": _decl, "literal": _literal, "var": _var, "field": _field,
    "index": _index, "assign": _assign, "incdec": _incdec, "binary": _binary, "and": _and, "or": _or,
    "unary": _unary, "ternary": _ternary, "elvis": _elvis, "cast": _cast, "listinit": _listinit,
    "mapinit": _mapinit, "new": _new, "call": _call, "static": _static,
}


def run_program(program: Fn, variables: dict[str, Any]) -> Any:
    """Run a compiled script; the value of ``return`` (or of a final expression statement)."""
    try:
        return program(Frame(variables))
    except _Return as ret:
        return ret.value
    except (_Break, _Continue):
        return None
