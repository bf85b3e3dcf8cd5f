"""gre's test plugins: one module per plugin kind (backend, graph, dataset)."""
