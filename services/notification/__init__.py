"""The `notification` service: SMS and e-mail through pluggable providers, templates,
automatic messages, boxes with retries (N-1..N-5)."""
