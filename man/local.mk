# Man pages (issue 9).
