// Module Probes.
