"""Promotions, challenges and retention offers: the loyalty team's campaigns, as plain values, and how a
coupon (or a birthday) earns them."""
