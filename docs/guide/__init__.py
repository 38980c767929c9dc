"""The guide's pages, their example code (``examples``) and the tests of that code."""
