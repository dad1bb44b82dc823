"""The Zalo channel: API client, transport and text-menu handlers over bot/services."""
