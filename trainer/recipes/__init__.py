"""Training recipes as library functions, each with typed settings; scripts/ are thin command lines over them."""
