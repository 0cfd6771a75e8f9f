"""The events feed: committed events given their positions (the sequencer), read by pollers
and fanned out to webhooks, and the catalogue of event types."""
