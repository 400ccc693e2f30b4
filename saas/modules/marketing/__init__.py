"""Marketing: segments, consent-aware email campaigns, tracking, unsubscribe, lead-capture forms."""
