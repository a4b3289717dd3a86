"""A tensorflow-metadata ``Schema`` in text format on any Beam filesystem: read and write it.

``load_schema(path)`` reads the file as the rest of the config's files are read
(:func:`evalbeam.io.paths.read_text`); a file that cannot be read or does not parse is an
:class:`~evalbeam.errors.InputError` of one line naming the file and the reason.
``write_schema(schema, path)`` writes the text format and never replaces an existing file
unless ``overwrite=True``.
"""
from __future__ import annotations

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from evalbeam.errors import InputError, OutputError, first_line
from evalbeam.io.paths import is_file, is_local, read_text


def parse_schema(text: str, path: str, what: str = "schema") -> schema_pb2.Schema:
    schema = schema_pb2.Schema()
    try:
        text_format.Parse(text, schema)
    except text_format.ParseError as e:
        raise InputError(f"{what} {path}: {e}".replace("\n", " ")) from None
    return schema


def load_schema(path: str, what: str = "schema") -> schema_pb2.Schema:
    """The Schema in the text-format file at ``path``; ``what``: the setting that names it,
    for the messages."""
    try:
        text = read_text(path, what)
    except OSError as e:
        raise InputError(str(e)) from None
    return parse_schema(text, path, what)


def write_schema(schema: schema_pb2.Schema, path: str, *, overwrite: bool = False) -> None:
    """Write ``schema`` to ``path`` as text format; an existing file is kept (OutputError)
    unless ``overwrite``."""
    text = text_format.MessageToString(schema)
    refused = f"schema {path}: the file exists; not replacing it (overwrite=True replaces it)"
    try:
        if is_local(path):
            with open(path, "w" if overwrite else "x", encoding="utf-8") as f:
                f.write(text)
            return
        if not overwrite and is_file(path):
            raise OutputError(refused)
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(path) as f:
            f.write(text.encode("utf-8"))
    except FileExistsError:
        raise OutputError(refused) from None
    except IsADirectoryError:
        raise OutputError(f"schema {path}: is a folder, not a file") from None
    except OSError as e:  # BeamIOError is one too
        raise OutputError(f"schema {path}: cannot be written "
                          f"({e.strerror or first_line(e)})") from None
