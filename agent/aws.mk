# AWS access (IMDSv2, credentials, SigV4, Query client): sources and tests (issue 3).
