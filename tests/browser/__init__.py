"""Browser tests: the real site under gunicorn, driven by headless Chromium through Playwright."""
