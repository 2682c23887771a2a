"""A loyalty programme as data (rules format 2): tiers, qualifying metrics, periods, earning, expiry, awards.

Nothing here names a tier, a metric, a carrier or a currency: the programme's rules file does.
"""
