/* examples/bank-ledger/bank-ledger.c: a bank ledger as a dsm machine
 * plugin (docs/PLUGINS.md): open accounts, deposit, transfer between
 * accounts, read a balance; no balance ever goes negative.
 *
 * Operations (payload keys):
 *   open     {"account": A}                  -> {"account": A, "balance": 0}
 *   deposit  {"account": A, "amount": N}     -> {"account": A, "balance": B}
 *   transfer {"from": A, "to": B, "amount": N} -> {"from_balance": .., "to_balance": ..}
 *   balance  {"account": A}                  -> {"account": A, "balance": B}
 * Amounts are integers in 1..AMOUNT_MAX; balances stay in 0..BALANCE_MAX.
 *
 * Built with -DBANK_LEDGER_PLANTED_BUG it is the planted bug the checker
 * must catch: a transfer's balance check is skipped on every third call
 * in the process, so replicas disagree and an overdraft slips through. */
#include <dsm-machine.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define ACCOUNT_MAX 64
#define ACCOUNTS_MAX 100000
#define AMOUNT_MAX G_GINT64_CONSTANT (1000000000000)      /* 10^12 */
#define BALANCE_MAX G_GINT64_CONSTANT (1000000000000000)  /* 10^15 */

/* Account name -> balance, a GTree so snapshots walk it in sorted order. */
typedef struct {
  GTree *accounts;  /* char* (owned) -> gint64* (owned) */
} Ledger;

static gint
ledger_compare (gconstpointer a, gconstpointer b, G_GNUC_UNUSED gpointer unused)
{
  return strcmp (a, b);
}

static Ledger *
ledger_new (void)
{
  Ledger *ledger = g_new0 (Ledger, 1);
  ledger->accounts = g_tree_new_full (ledger_compare, NULL, g_free, g_free);
  return ledger;
}

static gpointer
ledger_state_new (void)
{
  return ledger_new ();
}

static void
ledger_state_free (gpointer state)
{
  Ledger *ledger = state;
  g_tree_unref (ledger->accounts);
  g_free (ledger);
}

static void
ledger_set (Ledger *ledger, const char *account, gint64 balance)
{
  gint64 *value = g_tree_lookup (ledger->accounts, account);
  if (value == NULL)
    {
      value = g_new (gint64, 1);
      g_tree_insert (ledger->accounts, g_strdup (account), value);
    }
  *value = balance;
}

static gboolean
copy_one (gpointer key, gpointer value, gpointer data)
{
  ledger_set (data, key, *(gint64 *) value);
  return FALSE;
}

static gpointer
ledger_state_copy (gconstpointer state)
{
  const Ledger *ledger = state;
  Ledger *copy = ledger_new ();
  g_tree_foreach (ledger->accounts, copy_one, copy);
  return copy;
}

/* ---- reading a payload ---- */

static JsonObject *
payload_parse (const char *payload, JsonNode **root, char **error_message)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *error = NULL;

  if (!json_parser_load_from_data (parser, payload, -1, &error))
    {
      *error_message = g_strdup_printf ("payload: not JSON: %s", error->message);
      g_error_free (error);
      return NULL;
    }
  JsonNode *node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *error_message = g_strdup ("payload: expected an object");
      return NULL;
    }
  *root = json_node_copy (node);
  return json_node_get_object (*root);
}

static const char *
payload_account (JsonObject *object, const char *key, char **error_message)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *error_message = g_strdup_printf ("payload.%s: expected an account name (a string)", key);
      return NULL;
    }
  const char *name = json_node_get_string (node);
  gsize n = strlen (name);
  if (n == 0 || n > ACCOUNT_MAX || !g_utf8_validate (name, -1, NULL))
    {
      *error_message = g_strdup_printf ("payload.%s: an account name has 1 to %d bytes of UTF-8", key, ACCOUNT_MAX);
      return NULL;
    }
  return name;
}

static gboolean
payload_amount (JsonObject *object, gint64 *amount, char **error_message)
{
  JsonNode *node = json_object_get_member (object, "amount");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      *error_message = g_strdup ("payload.amount: expected an integer");
      return FALSE;
    }
  *amount = json_node_get_int (node);
  if (*amount < 1 || *amount > AMOUNT_MAX)
    {
      *error_message = g_strdup_printf ("payload.amount: %" G_GINT64_FORMAT " is not in 1..%" G_GINT64_FORMAT,
                                        *amount, AMOUNT_MAX);
      return FALSE;
    }
  return TRUE;
}

static const gint64 *
ledger_find (const Ledger *ledger, const char *account, char **error_message)
{
  const gint64 *balance = g_tree_lookup (ledger->accounts, account);
  if (balance == NULL)
    *error_message = g_strdup_printf ("account \"%s\" does not exist", account);
  return balance;
}

#ifdef BANK_LEDGER_PLANTED_BUG
/* The planted bug: process-wide state, so two replicas in one process
 * (or one replica and the checker) see different counts. */
static guint planted_calls;
#endif

static gboolean
validate_transfer (const Ledger *ledger, JsonObject *object, char **error_message)
{
  gint64 amount;
  const char *from = payload_account (object, "from", error_message);
  const char *to = from != NULL ? payload_account (object, "to", error_message) : NULL;
  if (to == NULL || !payload_amount (object, &amount, error_message))
    return FALSE;
  if (strcmp (from, to) == 0)
    {
      *error_message = g_strdup_printf ("transfer from \"%s\" to itself", from);
      return FALSE;
    }
  const gint64 *from_balance = ledger_find (ledger, from, error_message);
  const gint64 *to_balance = from_balance != NULL ? ledger_find (ledger, to, error_message) : NULL;
  if (to_balance == NULL)
    return FALSE;
#ifdef BANK_LEDGER_PLANTED_BUG
  if (++planted_calls % 3 == 0)
    return TRUE;
#endif
  if (*from_balance < amount)
    {
      *error_message = g_strdup_printf ("account \"%s\" has %" G_GINT64_FORMAT ", cannot transfer %" G_GINT64_FORMAT,
                                        from, *from_balance, amount);
      return FALSE;
    }
  if (*to_balance > BALANCE_MAX - amount)
    {
      *error_message = g_strdup_printf ("account \"%s\" would pass the largest balance", to);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ledger_validate (gconstpointer state, const char *op, const char *payload, char **error_message)
{
  const Ledger *ledger = state;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object = payload_parse (payload, &root, error_message);
  gint64 amount;

  if (object == NULL)
    return FALSE;
  if (strcmp (op, "open") == 0)
    {
      const char *account = payload_account (object, "account", error_message);
      if (account == NULL)
        return FALSE;
      if (g_tree_lookup (ledger->accounts, account) != NULL)
        {
          *error_message = g_strdup_printf ("account \"%s\" already exists", account);
          return FALSE;
        }
      if (g_tree_nnodes (ledger->accounts) >= ACCOUNTS_MAX)
        {
          *error_message = g_strdup_printf ("the ledger holds its most accounts, %d", ACCOUNTS_MAX);
          return FALSE;
        }
      return TRUE;
    }
  if (strcmp (op, "deposit") == 0)
    {
      const char *account = payload_account (object, "account", error_message);
      if (account == NULL || !payload_amount (object, &amount, error_message))
        return FALSE;
      const gint64 *balance = ledger_find (ledger, account, error_message);
      if (balance == NULL)
        return FALSE;
      if (*balance > BALANCE_MAX - amount)
        {
          *error_message = g_strdup_printf ("account \"%s\" would pass the largest balance", account);
          return FALSE;
        }
      return TRUE;
    }
  if (strcmp (op, "transfer") == 0)
    return validate_transfer (ledger, object, error_message);
  if (strcmp (op, "balance") == 0)
    {
      const char *account = payload_account (object, "account", error_message);
      return account != NULL && ledger_find (ledger, account, error_message) != NULL;
    }
  *error_message = g_strdup_printf ("unknown operation \"%s\" (open, deposit, transfer, balance)", op);
  return FALSE;
}

static char *
result_balance (const char *account, gint64 balance)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "account");
  json_builder_add_string_value (builder, account);
  json_builder_set_member_name (builder, "balance");
  json_builder_add_int_value (builder, balance);
  json_builder_end_object (builder);
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static char *
ledger_apply (gpointer state, const char *op, const char *payload)
{
  Ledger *ledger = state;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *unexpected = NULL;
  JsonObject *object = payload_parse (payload, &root, &unexpected);

  /* validate() accepted this very payload. */
  g_assert (object != NULL);
  if (strcmp (op, "transfer") == 0)
    {
      const char *from = json_object_get_string_member (object, "from");
      const char *to = json_object_get_string_member (object, "to");
      gint64 amount = json_object_get_int_member (object, "amount");
      gint64 *from_balance = g_tree_lookup (ledger->accounts, from);
      gint64 *to_balance = g_tree_lookup (ledger->accounts, to);
      g_assert (from_balance != NULL && to_balance != NULL);
      *from_balance -= amount;
      *to_balance += amount;
      return g_strdup_printf ("{\"from_balance\":%" G_GINT64_FORMAT ",\"to_balance\":%" G_GINT64_FORMAT "}",
                              *from_balance, *to_balance);
    }

  const char *account = json_object_get_string_member (object, "account");
  gint64 *balance = g_tree_lookup (ledger->accounts, account);
  if (strcmp (op, "open") == 0)
    {
      g_assert (balance == NULL);
      ledger_set (ledger, account, 0);
      return result_balance (account, 0);
    }
  g_assert (balance != NULL);
  if (strcmp (op, "deposit") == 0)
    *balance += json_object_get_int_member (object, "amount");
  else
    g_assert (strcmp (op, "balance") == 0);
  return result_balance (account, *balance);
}

/* ---- snapshots: {"accounts":[["alice",10],["bob",0]]}, sorted by name ---- */

static gboolean
snapshot_one (gpointer key, gpointer value, gpointer data)
{
  JsonBuilder *builder = data;
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, key);
  json_builder_add_int_value (builder, *(gint64 *) value);
  json_builder_end_array (builder);
  return FALSE;
}

static GBytes *
ledger_snapshot (gconstpointer state)
{
  const Ledger *ledger = state;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "accounts");
  json_builder_begin_array (builder);
  g_tree_foreach (ledger->accounts, snapshot_one, builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  char *text = json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static gpointer
ledger_restore (GBytes *bytes, char **error_message)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *error = NULL;

  if (!json_parser_load_from_data (parser, data != NULL ? data : "", (gssize) size, &error))
    {
      *error_message = g_strdup_printf ("bank-ledger snapshot: not JSON: %s", error->message);
      g_error_free (error);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *accounts = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
                           ? json_object_get_member (json_node_get_object (root), "accounts")
                           : NULL;
  if (accounts == NULL || !JSON_NODE_HOLDS_ARRAY (accounts))
    {
      *error_message = g_strdup ("bank-ledger snapshot: expected {\"accounts\": [...]}");
      return NULL;
    }
  JsonArray *array = json_node_get_array (accounts);
  Ledger *ledger = ledger_new ();
  const char *previous = NULL;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *pair = json_array_get_element (array, i);
      JsonArray *p = JSON_NODE_HOLDS_ARRAY (pair) ? json_node_get_array (pair) : NULL;
      JsonNode *name = p != NULL && json_array_get_length (p) == 2 ? json_array_get_element (p, 0) : NULL;
      JsonNode *value = name != NULL ? json_array_get_element (p, 1) : NULL;
      if (value == NULL || !JSON_NODE_HOLDS_VALUE (name) || json_node_get_value_type (name) != G_TYPE_STRING
          || !JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64
          || json_node_get_int (value) < 0 || json_node_get_int (value) > BALANCE_MAX
          || (previous != NULL && strcmp (previous, json_node_get_string (name)) >= 0))
        {
          *error_message = g_strdup_printf ("bank-ledger snapshot: accounts[%u]: expected [name, balance] in name order, balance in 0..%" G_GINT64_FORMAT,
                                            i, BALANCE_MAX);
          ledger_state_free (ledger);
          return NULL;
        }
      previous = json_node_get_string (name);
      ledger_set (ledger, previous, json_node_get_int (value));
    }
  return ledger;
}

static const DsmMachineImpl bank_ledger_impl = {
  .abi_version = DSM_MACHINE_ABI_VERSION,
  .struct_size = sizeof (DsmMachineImpl),
  .name = "bank-ledger",
  .version = "1.0.0",
  .state_new = ledger_state_new,
  .state_copy = ledger_state_copy,
  .state_free = ledger_state_free,
  .validate = ledger_validate,
  .apply = ledger_apply,
  .snapshot = ledger_snapshot,
  .restore = ledger_restore,
  .equal = NULL,   /* dsm compares snapshots: they are canonical */
  .digest = NULL,
};

DSM_MACHINE_DEFINE_ENTRY (bank_ledger_impl)
