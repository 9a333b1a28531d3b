"""What a repository asks dqguard to check: manifests found (`projects`), loaded and validated
(`load`), matrices expanded (`matrix`) and inline input specs (`specs`). Parent side: no torch."""
