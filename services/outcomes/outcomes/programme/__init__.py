"""The programme's set-up as data: its phases (dates and funding model), the current one found from today."""
