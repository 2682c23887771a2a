"""The managers' promotion pages: create, review and end campaigns, each with its report and chart."""
