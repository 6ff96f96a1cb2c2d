# unit tests of codec, store, ops, access, secmem, config
