"""The loyalty team's retention pages (managers): who stays, who left and why, who came back and what
brought them back, as charts with their tables and CSV downloads."""
