"""Wiring wardbot to Telegram through aiogram: bot, dispatcher, middlewares, sender."""
