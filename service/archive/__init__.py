"""The archive (issue 20): AIPs built by the worker for completed exchanges, copies on every archive store with
retention, fixity audits. See README.md beside this file."""
