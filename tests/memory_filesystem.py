"""An object store in memory for tests (scheme ``memstore://``): objects keyed by their full
name, no directories (a "directory" is a name prefix), rename is copy-then-delete, as on GCS."""
import io

from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem

OBJECTS: dict = {}


class _Writer(io.BytesIO):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def close(self):
        OBJECTS[self.path] = self.getvalue()
        super().close()


class MemoryFileSystem(FileSystem):
    @classmethod
    def scheme(cls):
        return "memstore"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/")] + [p.strip("/") for p in paths])

    def split(self, path):
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, prefix):
        for name in sorted(OBJECTS):
            if name.startswith(prefix):
                yield FileMetadata(name, len(OBJECTS[name]))

    def create(self, path, mime_type=None, compression_type=None):
        return _Writer(path)

    def open(self, path, mime_type=None, compression_type=None):
        if path not in OBJECTS:
            raise BeamIOError("no such object", {path: FileNotFoundError(path)})
        return io.BytesIO(OBJECTS[path])

    def copy(self, sources, destinations):
        for s, d in zip(sources, destinations):
            OBJECTS[d] = OBJECTS[s]

    def rename(self, sources, destinations):
        for s, d in zip(sources, destinations):
            OBJECTS[d] = OBJECTS.pop(s)

    def exists(self, path):
        return path in OBJECTS

    def size(self, path):
        return len(OBJECTS[path])

    def last_updated(self, path):
        return 0.0

    def checksum(self, path):
        return str(hash(OBJECTS[path]))

    def metadata(self, path):
        return FileMetadata(path, len(OBJECTS[path]))

    def delete(self, paths):
        for path in paths:
            under = [n for n in OBJECTS if n.startswith(path.rstrip("/") + "/")]
            if path not in OBJECTS and not under:
                raise BeamIOError("delete failed", {path: FileNotFoundError(path)})
            for name in [path] * (path in OBJECTS) + under:
                OBJECTS.pop(name, None)
