"""Output of ``vmetal-ipam``: the plain table, and values made printable.

cliff's ``json``, ``value``, ``csv`` and ``yaml`` formatters are used as
they are; the ``table`` formatter is this module's plain one (a header, a
rule, one line per row), so that what ``vmetal-ipam`` printed before cliff
reads the same. A cell never carries a control character to the terminal.
"""

from collections.abc import Iterable, Sequence
import json
from typing import Any

from cliff.formatters import base

from vmetal_ironic.cmd import common


def cell(value: Any) -> str:
    """The text of one table cell."""
    if value is None:
        return '-'
    if isinstance(value, (list, tuple)):
        return ','.join(cell(v) for v in value) or '-'
    if isinstance(value, dict):
        return common.printable(json.dumps(value, sort_keys=True))
    return common.printable(value)


def format_table(columns: Sequence[str],
                 rows: Iterable[Sequence[Any]]) -> str:
    """Plain text table: a header, a rule, one line per row."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells])
              for i, c in enumerate(columns)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             '  '.join('-' * w for w in widths)]
    lines += ['  '.join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
              for r in cells]
    return '\n'.join(lines)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (dates and addresses become text)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def as_dict(record: Any) -> dict[str, Any]:
    """A record of the IPAM API (``to_dict()``) or a mapping, as a dict."""
    if hasattr(record, 'to_dict'):
        record = record.to_dict()
    return {k: plain(v) for k, v in dict(record).items()}


def rows(columns: Sequence[str], records: Iterable[Any]
         ) -> tuple[Sequence[str], list[tuple[Any, ...]]]:
    """``(columns, rows)`` for a cliff Lister from IPAM records."""
    dicts = [as_dict(r) for r in records]
    return columns, [tuple(d.get(c) for c in columns) for d in dicts]


def one(record: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """``(fields, values)`` for a cliff ShowOne from one record."""
    d = as_dict(record)
    return tuple(d), tuple(d.values())


class PlainTableFormatter(base.ListFormatter, base.SingleFormatter):
    """``-f table``: columns separated by two spaces, no borders."""

    def add_argument_group(self, parser):
        pass

    def emit_list(self, column_names, data, stdout, parsed_args):
        stdout.write(format_table(column_names, list(data)) + '\n')

    def emit_one(self, column_names, data, stdout, parsed_args):
        stdout.write(format_table(('field', 'value'),
                                  list(zip(column_names, data))) + '\n')
