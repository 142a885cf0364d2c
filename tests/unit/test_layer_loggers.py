"""Every logger inside the layer is a child of the function's Powertools Logger (`Logger(child=True)`),
so each line a request logs carries its correlation id; a stdlib `logging.getLogger` or a Logger of a
service of its own would log without it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "switchboard"


def loggers_without_correlation(tree: ast.AST) -> list[int]:
    """Lines that make a logger other than `Logger(child=True)`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "getLogger":
            found.append(node.lineno)
        elif name == "Logger":
            child = next((kw.value for kw in node.keywords if kw.arg == "child"), None)
            if not (isinstance(child, ast.Constant) and child.value is True):
                found.append(node.lineno)
    return found


def test_every_layer_logger_is_a_child_of_the_functions_logger() -> None:
    problems = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in loggers_without_correlation(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not problems, "use Logger(child=True) at " + ", ".join(problems)


def test_the_check_sees_stdlib_and_service_loggers() -> None:
    source = (
        "import logging\nfrom aws_lambda_powertools import Logger\n"
        "a = logging.getLogger(__name__)\nb = Logger(service='x')\nc = Logger(child=True)\n"
    )
    assert loggers_without_correlation(ast.parse(source)) == [3, 4]
