"""Sources (files -> pyarrow.RecordBatch) and the artifact writer/loader."""
