// Module Exporter.
