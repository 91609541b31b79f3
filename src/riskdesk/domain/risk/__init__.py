"""Risk: limits, the pre-trade pipeline, sizing, intraday monitors, the graded kill switch and
risk reports. Pure: time, books and market numbers are passed in."""
