"""A restricted expression evaluator for review-process conditions (never `eval`).

A stage of an item's process may say when it applies, e.g. `amount > 50000 and category == "企业"`.
The expression is parsed with `ast` and only these nodes are evaluated: literals (numbers, text,
True/False/None, lists/tuples of literals), names (the application's form values; an unknown name
is None), `and` / `or` / `not`, unary minus, comparisons (== != < <= > >= in, not in) and + - * /
on numbers. No attribute access, no calls, no subscripts: nothing can reach Python objects.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_LENGTH = 500
MAX_NODES = 100

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class ExpressionError(ValueError):
    """The expression uses something outside the allowed subset, or cannot be evaluated."""


def parse(source: str) -> ast.Expression:
    if not isinstance(source, str) or len(source) > MAX_LENGTH:
        raise ExpressionError(f"条件表达式须为不超过 {MAX_LENGTH} 个字符的文本")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"条件表达式语法错误：{exc.msg}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError("条件表达式过长")
    _check(tree.body)
    return tree


def _check(node: ast.AST) -> None:
    allowed = (
        ast.BoolOp,
        ast.UnaryOp,
        ast.Compare,
        ast.BinOp,
        ast.Name,
        ast.Constant,
        ast.List,
        ast.Tuple,
    )
    if not isinstance(node, allowed):
        raise ExpressionError(f"条件表达式不允许使用 {type(node).__name__}")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not | ast.USub):
        raise ExpressionError("条件表达式只允许 not 和负号")
    if isinstance(node, ast.BinOp) and type(node.op) not in _ARITH:
        raise ExpressionError("条件表达式只允许 + - * /")
    if isinstance(node, ast.Compare) and any(type(op) not in _COMPARE for op in node.ops):
        raise ExpressionError("条件表达式不允许使用 is 比较")
    if isinstance(node, ast.Name) and (node.id.startswith("_") or not isinstance(node.ctx, ast.Load)):
        raise ExpressionError("条件表达式中的名称不能以下划线开头")
    if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str | bool | type(None)):
        raise ExpressionError("条件表达式只允许数字、文本和 True/False/None")
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr_context | ast.boolop | ast.cmpop | ast.operator | ast.unaryop):
            continue
        _check(child)


def _number(value: Any) -> Any:
    """Form values are text: compare them as numbers when they look like numbers."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _eval(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return _number(node.value) if isinstance(node.value, float) else node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return _number(names.get(node.id))
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, names) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, names) for v in node.values)
        return any(_eval(v, names) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, names)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_eval(node.left, names), _eval(node.right, names))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, names)
            if isinstance(right, list) and isinstance(left, Decimal):
                right = [_number(r) if isinstance(r, str) else r for r in right]
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ExpressionError(f"条件表达式不允许使用 {type(node).__name__}")  # pragma: no cover - _check


def evaluate(source: str, names: Mapping[str, Any]) -> bool:
    """True when the condition holds for `names`; a comparison of unlike values is False."""
    tree = parse(source)
    try:
        return bool(_eval(tree.body, names))
    except (TypeError, ArithmeticError, InvalidOperation):
        return False
