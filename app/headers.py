"""The security headers every answer carries, from Flask or from a fast path in front of it
(app/live.py): one list, so the two can never differ."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        # The web app manifest and the service worker (app/main/offline.py): ours only.
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """`secure`: the request came over HTTPS (behind a trusted proxy, as it said)."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        # Forms need their Referer over HTTPS (CSRF's strict check); no other site gets one,
        # so tokens in invite and reset links stay here.
        ("Referrer-Policy", "same-origin"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers
