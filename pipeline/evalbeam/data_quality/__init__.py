"""Data quality per slice: TFDV-compatible statistics, schema anomalies, drift, schema inference."""
