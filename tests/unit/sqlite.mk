# unit tests of the sqlite backend
