"""Writing test data in every supported format."""
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from evalbeam.io.tfrecord import write_records
from evalbeam.proto.example_pb2 import Example


def write_tfrecord(table: pa.Table, path: str) -> None:
    rows = table.to_pylist()
    records = []
    for row in rows:
        ex = Example()
        for name, value in row.items():
            if value is None:
                continue
            values = value if isinstance(value, list) else [value]
            feature = ex.features.feature[name]
            if isinstance(values[0], str):
                feature.bytes_list.value.extend(v.encode() for v in values)
            elif isinstance(values[0], int):
                feature.int64_list.value.extend(values)
            else:
                feature.float_list.value.extend(values)
        records.append(ex.SerializeToString())
    with open(path, "wb") as f:
        write_records(f, records)


def write(table: pa.Table, path: str) -> str:
    if path.endswith(".parquet"):
        pq.write_table(table, path, row_group_size=1000)
    elif path.endswith(".csv"):
        pcsv.write_csv(table, path)
    else:
        write_tfrecord(table, path)
    return path
