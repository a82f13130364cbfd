/* tests/lines.h: splitting a long text (a simulator trace, a history)
 * into lines in one pass, for the tests that read them. */
#pragma once

#include <glib.h>
#include <string.h>

/* The lines of @text, as g_strsplit (text, "\n", -1) gives them (a last
 * empty string after a final newline).  Not g_strsplit: it calls strstr
 * on the rest of the text once per line, and AddressSanitizer's strstr
 * measures the whole rest each time, so a 2 MB trace took 30 s to split
 * in the sanitizer pass (the plain build: 10 ms).  Free with g_strfreev. */
static inline GStrv
test_lines_split (const char *text)
{
  GPtrArray *lines = g_ptr_array_new ();
  const char *end = text + strlen (text);

  for (const char *p = text;;)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      if (nl == NULL)
        {
          g_ptr_array_add (lines, g_strndup (p, (gsize) (end - p)));
          break;
        }
      g_ptr_array_add (lines, g_strndup (p, (gsize) (nl - p)));
      p = nl + 1;
    }
  g_ptr_array_add (lines, NULL);
  return (GStrv) g_ptr_array_free (lines, FALSE);
}
