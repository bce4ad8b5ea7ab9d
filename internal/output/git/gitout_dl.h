#ifndef DHG_OUTPUT_GITOUT_DL_H
#define DHG_OUTPUT_GITOUT_DL_H

/*
 * libgit2, loaded on the first git write or fetch (util/dl.h): only a process that uses the git
 * output maps it (with mbedTLS, libssh2, libpcre2, ...). Included by the git module's .c files
 * only (through gitout_internal.h): it makes every git_* call below go through the table, so
 * the code reads as plain libgit2 code. Nothing may be called before gitout__libgit2_init().
 */

#include <git2.h>

#include "util/dl.h"

/* Every libgit2 function the module calls; the table's types come from <git2.h>. */
#define GITOUT__GIT2_FUNCS(X) \
	X(git_blob_free) X(git_blob_lookup) X(git_blob_rawcontent) X(git_blob_rawsize) X(git_commit_create) \
	X(git_commit_free) X(git_commit_id) X(git_commit_lookup) X(git_commit_tree) \
	X(git_credential_ssh_key_memory_new) X(git_credential_username_new) \
	X(git_credential_userpass_plaintext_new) X(git_error_last) X(git_error_set_str) \
	X(git_fetch_options_init) X(git_index_add) X(git_index_entry_stage) X(git_index_entrycount) \
	X(git_index_free) X(git_index_get_byindex) X(git_index_new) X(git_index_read_tree) X(git_index_remove) \
	X(git_index_write_tree_to) X(git_libgit2_init) X(git_object_free) X(git_object_lookup) \
	X(git_object_peel) X(git_odb_exists) X(git_odb_exists_prefix) X(git_odb_free) X(git_odb_hash) \
	X(git_odb_write) X(git_oid_cpy) X(git_oid_equal) X(git_oid_fromstr) X(git_oid_fromstrn) \
	X(git_oid_tostr) X(git_push_options_init) X(git_reference_create) X(git_reference_free) \
	X(git_reference_name_is_valid) X(git_reference_remove) X(git_remote_connect) X(git_remote_connected) \
	X(git_remote_create_options_init) X(git_remote_create_with_opts) X(git_remote_disconnect) \
	X(git_remote_download) X(git_remote_free) X(git_remote_init_callbacks) X(git_remote_ls) \
	X(git_remote_push) X(git_remote_update_tips) X(git_repository_free) X(git_repository_init) \
	X(git_repository_odb) X(git_repository_open_bare) X(git_signature_free) X(git_signature_new) \
	X(git_tree_entry_bypath) X(git_tree_entry_filemode) X(git_tree_entry_free) X(git_tree_entry_id) \
	X(git_tree_entry_name) X(git_tree_entry_type) X(git_tree_free) X(git_tree_id) X(git_tree_lookup) \
	X(git_tree_walk)

typedef struct gitout__git2_table {
	GITOUT__GIT2_FUNCS(DHG_DL_FIELD)
} gitout__git2_table;

/* Filled by gitout__libgit2_init() (gitout_dl.c); read-only afterwards. */
extern gitout__git2_table gitout__git2;

#ifndef GITOUT__DL_NO_CALL_MACROS /* gitout_dl.c names the table's fields */
#define git_blob_free (gitout__git2.git_blob_free)
#define git_blob_lookup (gitout__git2.git_blob_lookup)
#define git_blob_rawcontent (gitout__git2.git_blob_rawcontent)
#define git_blob_rawsize (gitout__git2.git_blob_rawsize)
#define git_commit_create (gitout__git2.git_commit_create)
#define git_commit_free (gitout__git2.git_commit_free)
#define git_commit_id (gitout__git2.git_commit_id)
#define git_commit_lookup (gitout__git2.git_commit_lookup)
#define git_commit_tree (gitout__git2.git_commit_tree)
#define git_credential_ssh_key_memory_new (gitout__git2.git_credential_ssh_key_memory_new)
#define git_credential_username_new (gitout__git2.git_credential_username_new)
#define git_credential_userpass_plaintext_new (gitout__git2.git_credential_userpass_plaintext_new)
#define git_error_last (gitout__git2.git_error_last)
#define git_error_set_str (gitout__git2.git_error_set_str)
#define git_fetch_options_init (gitout__git2.git_fetch_options_init)
#define git_index_add (gitout__git2.git_index_add)
#define git_index_entry_stage (gitout__git2.git_index_entry_stage)
#define git_index_entrycount (gitout__git2.git_index_entrycount)
#define git_index_free (gitout__git2.git_index_free)
#define git_index_get_byindex (gitout__git2.git_index_get_byindex)
#define git_index_new (gitout__git2.git_index_new)
#define git_index_read_tree (gitout__git2.git_index_read_tree)
#define git_index_remove (gitout__git2.git_index_remove)
#define git_index_write_tree_to (gitout__git2.git_index_write_tree_to)
#define git_libgit2_init (gitout__git2.git_libgit2_init)
#define git_object_free (gitout__git2.git_object_free)
#define git_object_lookup (gitout__git2.git_object_lookup)
#define git_object_peel (gitout__git2.git_object_peel)
#define git_odb_exists (gitout__git2.git_odb_exists)
#define git_odb_exists_prefix (gitout__git2.git_odb_exists_prefix)
#define git_odb_free (gitout__git2.git_odb_free)
#define git_odb_hash (gitout__git2.git_odb_hash)
#define git_odb_write (gitout__git2.git_odb_write)
#define git_oid_cpy (gitout__git2.git_oid_cpy)
#define git_oid_equal (gitout__git2.git_oid_equal)
#define git_oid_fromstr (gitout__git2.git_oid_fromstr)
#define git_oid_fromstrn (gitout__git2.git_oid_fromstrn)
#define git_oid_tostr (gitout__git2.git_oid_tostr)
#define git_push_options_init (gitout__git2.git_push_options_init)
#define git_reference_create (gitout__git2.git_reference_create)
#define git_reference_free (gitout__git2.git_reference_free)
#define git_reference_name_is_valid (gitout__git2.git_reference_name_is_valid)
#define git_reference_remove (gitout__git2.git_reference_remove)
#define git_remote_connect (gitout__git2.git_remote_connect)
#define git_remote_connected (gitout__git2.git_remote_connected)
#define git_remote_create_options_init (gitout__git2.git_remote_create_options_init)
#define git_remote_create_with_opts (gitout__git2.git_remote_create_with_opts)
#define git_remote_disconnect (gitout__git2.git_remote_disconnect)
#define git_remote_download (gitout__git2.git_remote_download)
#define git_remote_free (gitout__git2.git_remote_free)
#define git_remote_init_callbacks (gitout__git2.git_remote_init_callbacks)
#define git_remote_ls (gitout__git2.git_remote_ls)
#define git_remote_push (gitout__git2.git_remote_push)
#define git_remote_update_tips (gitout__git2.git_remote_update_tips)
#define git_repository_free (gitout__git2.git_repository_free)
#define git_repository_init (gitout__git2.git_repository_init)
#define git_repository_odb (gitout__git2.git_repository_odb)
#define git_repository_open_bare (gitout__git2.git_repository_open_bare)
#define git_signature_free (gitout__git2.git_signature_free)
#define git_signature_new (gitout__git2.git_signature_new)
#define git_tree_entry_bypath (gitout__git2.git_tree_entry_bypath)
#define git_tree_entry_filemode (gitout__git2.git_tree_entry_filemode)
#define git_tree_entry_free (gitout__git2.git_tree_entry_free)
#define git_tree_entry_id (gitout__git2.git_tree_entry_id)
#define git_tree_entry_name (gitout__git2.git_tree_entry_name)
#define git_tree_entry_type (gitout__git2.git_tree_entry_type)
#define git_tree_free (gitout__git2.git_tree_free)
#define git_tree_id (gitout__git2.git_tree_id)
#define git_tree_lookup (gitout__git2.git_tree_lookup)
#define git_tree_walk (gitout__git2.git_tree_walk)
#endif

#endif
