"""The SQL layer: the only place in the data model where SQL text is built."""
