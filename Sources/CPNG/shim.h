#include <png.h>
#include <string.h>

/* Reads a PNG held in memory with libpng's simplified API. Sets *width and *height; returns -1
   for data that is not a readable PNG or whose width × height passes max_pixels, else 0. With a
   non-NULL `pixels` of width × height × 4 bytes it also decodes the image there as 8-bit RGBA,
   so the caller allocates the pixels only once it knows, and accepts, the size. */
static inline int magi_png_read_rgba(const void *data, size_t size, unsigned long max_pixels,
                                     unsigned *width, unsigned *height, unsigned char *pixels) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) return -1;
    *width = image.width;
    *height = image.height;
    if (image.width == 0 || image.height == 0 || (unsigned long)image.width * image.height > max_pixels) {
        png_image_free(&image);
        return -1;
    }
    if (pixels == NULL) {
        png_image_free(&image);
        return 0;
    }
    image.format = PNG_FORMAT_RGBA;
    return png_image_finish_read(&image, NULL, pixels, 0, NULL) ? 0 : -1;  /* frees the image either way */
}
