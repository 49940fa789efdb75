#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Decodes a PNG held in memory to 8-bit RGBA with libpng's simplified API. Images wider or taller
   than max_side are refused before any pixel memory is allocated. Returns 0 and a malloc'd
   buffer of width * height * 4 bytes in *pixels (the caller frees it), or -1. */
static inline int magi_png_decode_rgba(const void *data, size_t size, unsigned max_side,
                                       unsigned *width, unsigned *height, unsigned char **pixels) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) return -1;
    if (image.width == 0 || image.height == 0 || image.width > max_side || image.height > max_side) {
        png_image_free(&image);
        return -1;
    }
    image.format = PNG_FORMAT_RGBA;
    unsigned char *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (buffer == NULL) {
        png_image_free(&image);
        return -1;
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        free(buffer);
        png_image_free(&image);
        return -1;
    }
    *width = image.width;
    *height = image.height;
    *pixels = buffer;
    return 0;
}
