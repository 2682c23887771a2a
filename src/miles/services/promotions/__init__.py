"""Promotions: the campaigns the loyalty team runs, and the bonuses coupons and birthdays earn."""
