"""What a repository asks dqguard to check: manifests found (`projects`), loaded (`load`) into
cases (`case`), their keys validated (`keys`) at lines found in the TOML text (`toml_lines`),
matrices expanded (`matrix`) and inline input specs (`specs`). Parent side: no torch."""
