"""The emulator's backend: state and business rules, with no knowledge of HTTP."""
