// stb_image's implementation, for the fuzz build only (see CMakeLists.txt).
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
